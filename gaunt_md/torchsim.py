"""TorchSim adapter: a gaunt-md model as a ``torch_sim`` model, for batched MD and relaxations.

``pip install -e ".[torchsim]"`` installs TorchSim (``torch-sim-atomistic``). A TorchSim state holds
many structures at once (``system_idx`` says which atom is in which); :class:`GauntModel` builds one
neighbour graph per structure, as :class:`~gaunt_md.GauntCalculator` does, and evaluates them all in
one batched call of the same model code::

    import torch_sim as ts
    from gaunt_md.torchsim import GauntModel

    model = GauntModel("gaunt-acac", dtype="float64")
    state = ts.io.atoms_to_state(list_of_atoms, model.device, model.dtype)
    relaxed = ts.optimize(state, model, optimizer=ts.optimizers.fire)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase import Atoms

try:
    import torch_sim as ts
    from torch_sim.models.interface import ModelInterface
except ImportError as exc:  # an optional dependency
    raise ImportError('gaunt_md.torchsim needs TorchSim: pip install "gaunt-md[torchsim]"') from exc

from .calculator import load_model
from .data import atoms_to_graph, batch_graphs
from .model import GauntForceField
from .runtime import resolve_device, resolve_dtype


class GauntModel(ModelInterface):
    """A :class:`GauntForceField` behind TorchSim's model interface.

    Args:
        model: a :class:`GauntForceField`, a saved model's path or a pretrained-model name.
        device: "auto" (CUDA when available), "cpu" or "cuda".
        dtype: "float64" or "float32".
        compute_stress: whether ``forward`` returns stress (eV/Å^3) of periodic states.

    ``forward(state)`` returns ``energy [n_systems]`` (eV), ``forces [n_atoms, 3]`` (eV/Å) and, with
    ``compute_stress``, ``stress [n_systems, 3, 3]`` (eV/Å^3, ASE's sign; zero without periodicity).
    """

    def __init__(
        self,
        model: GauntForceField | str | Path,
        device: str = "auto",
        dtype: str = "float64",
        compute_stress: bool = True,
    ) -> None:
        super().__init__()
        self._device = resolve_device(device)
        self._dtype = resolve_dtype(dtype)
        self._compute_forces = True
        self._compute_stress = compute_stress
        self._memory_scales_with = "n_atoms_x_density"  # a radial cutoff
        model = load_model(model)
        if not isinstance(model, GauntForceField):
            raise ValueError(
                "GauntModel runs one model, not a committee; give one member (OUTPUT/member_K/model.pt of the fit)"
            )
        self.model = model.for_inference().to(device=self._device, dtype=self._dtype).eval()

    def forward(self, state: ts.SimState | dict, **kwargs) -> dict[str, torch.Tensor]:
        if isinstance(state, dict):
            state = ts.SimState(**state, masses=torch.ones_like(state["positions"][:, 0]))
        positions = state.positions.detach().cpu().double().numpy()
        numbers = state.atomic_numbers.detach().cpu().numpy()
        cells = state.row_vector_cell.detach().cpu().double().numpy()
        system = state.system_idx.detach().cpu().numpy()
        if np.any(np.diff(system) < 0):
            raise ValueError("the atoms of each system must be contiguous in the state (system_idx sorted)")
        pbc = bool(state.pbc) if not isinstance(state.pbc, torch.Tensor) else bool(state.pbc.all())
        graphs = []
        for b in range(int(system.max()) + 1 if len(system) else 0):
            atoms = Atoms(numbers=numbers[system == b], positions=positions[system == b], cell=cells[b], pbc=pbc)
            graphs.append(atoms_to_graph(atoms, self.model.config.r_max, self.model.species_of, dtype=self._dtype))
        batch = batch_graphs(graphs).to(self._device)
        out = self.model(batch, compute_forces=True, compute_stress=self._compute_stress and pbc)
        forces = out["forces"].detach()  # the energy (float64, gaunt_md.model) in the state's dtype
        result = {"energy": out["energy"].detach().to(forces.dtype), "forces": forces}
        if self._compute_stress:
            stress = out.get("stress")
            result["stress"] = stress.detach() if stress is not None else forces.new_zeros(len(graphs), 3, 3)
        return result
