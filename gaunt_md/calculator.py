"""ASE calculator: a thin adapter from ``ase.Atoms`` to :class:`GauntForceField` and back."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from . import hub
from .allocator import tune_cpu_allocator
from .committee import Committee, spread
from .compiled import CompiledForceField, threads_for
from .data import as_atoms, structure_graph
from .exported import ExportedForceField
from .model import GauntForceField
from .runtime import flush_denormals, resolve_device, resolve_dtype, set_threads


def load_model(model: GauntForceField | Committee | str | Path) -> GauntForceField | Committee:
    """A model or committee object, or one loaded from a file path or a pretrained-model name (see
    :mod:`gaunt_md.hub`)."""
    if isinstance(model, (GauntForceField, Committee)):
        return model
    if isinstance(model, (str, Path)):
        return hub.load_model(model)
    raise TypeError(
        f"model must be a GauntForceField, a Committee, a path or a pretrained-model name, got {type(model).__name__}"
    )


class GauntCalculator(Calculator):
    """Energies (eV), forces (eV/Å), stress (eV/Å^3, periodic systems) and per-atom energies (eV).

    Args:
        model: a :class:`GauntForceField` or :class:`~gaunt_md.committee.Committee`, the path of a saved
            model or committee, a pretrained-model name ("name" or "name@version", see :mod:`gaunt_md.hub`),
            or a ``.pt2`` file from ``gaunt-md export`` (which fixes dtype, device and the system's size).
        device: "auto" (CUDA when available), "cpu" or "cuda".
        dtype: "float32" (the default here: fast, for relaxations and MD) or "float64" (energy
            conservation over long runs; the ``gaunt-md`` commands default to it).
        threads: CPU threads for torch (``torch.set_num_threads``, for the whole process); default:
            torch's own choice (``OMP_NUM_THREADS``, else the number of cores). Give fewer when other
            busy processes share the cores: oversubscribed threads stall at every operator.
        compile: run each force call through a traced and compiled graph with static shapes
            (:class:`gaunt_md.compiled.CompiledForceField`): several times faster for small molecules,
            after a compilation of about a minute per shape bucket (the first call, and again when the
            number of edges or neighbours outgrows its bucket). A committee's batched call is traced
            and compiled as one graph too (1.3-1.5x faster than its eager call, docs/performance.md).

    It works on its own copy of the model, rewritten for speed by :meth:`GauntForceField.for_inference`
    (radial MLPs replaced by tables of R(r): energies move by ~1e-9 relative, forces by ~1e-8 eV/Å,
    and stay exact gradients). On CPU it keeps large allocations in the process heap between calls (see
    ``gaunt_md.allocator``), which halves the time of large systems, and flushes denormal floats to zero
    in its process (``torch.set_flush_denormal``, ``gaunt_md.runtime.flush_denormals``): a float32 call of
    gaunt-mlearn-Mo 1.6 took 1.2x as long without (docs/performance.md, denormal numbers).

    A committee gives the members' mean energy, forces and stress and, as extra results, their
    calibrated spread: ``energy_std`` (eV), ``forces_std`` [N] (eV/Å, per atom) and ``stress_std``
    (eV/Å^3, Voigt); the members share one neighbour list and run batched (one ``torch.vmap``).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]
    committee_properties = ["energy_std", "forces_std", "stress_std"]

    def __init__(
        self,
        model: GauntForceField | str | Path,
        device: str = "auto",
        dtype: str = "float32",
        threads: int | None = None,
        compile: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dtype = resolve_dtype(dtype)
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            flush_denormals()  # before set_threads: threads started later inherit it
            tune_cpu_allocator()
        set_threads(threads)
        if isinstance(model, (str, Path)) and str(model).endswith(".pt2"):  # gaunt-md export: dtype, device fixed
            self.model = self.compiled = ExportedForceField(model)
            self.dtype, self.device, self.is_committee = self.model.dtype, self.model.device, False
            return
        # for_inference makes a rewritten copy: the caller's model stays as it was
        self.model = load_model(model).for_inference().to(device=self.device, dtype=self.dtype).eval()
        self.is_committee = isinstance(self.model, Committee)
        self.compiled = CompiledForceField(self.model) if compile else None
        if self.is_committee:
            self.implemented_properties = [*self.implemented_properties, *self.committee_properties]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        atoms = as_atoms(atoms) if atoms is not None else None
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties
        if want_stress and not self.atoms.pbc.all():
            raise PropertyNotImplementedError("stress is only defined for structures periodic in all three directions")
        periodic = bool(self.atoms.pbc.all())
        with self._threads():
            graph = structure_graph(self.atoms, self.model.config.r_max, self.model.species_of, self.dtype, self.device)
            if self.compiled is not None:
                out = self.compiled(graph, compute_stress=periodic)
            else:
                out = self.model(graph, compute_forces=True, compute_stress=periodic)
        if self.is_committee:
            out = spread(out, self.model.std_scale)
        out = {k: v.detach().cpu().double().numpy() for k, v in out.items()}
        energy = float(out["energy"][0])
        self.results = {"energy": energy, "free_energy": energy, "energies": out["energies"], "forces": out["forces"]}
        if "stress" in out:
            self.results["stress"] = full_3x3_to_voigt_6_stress(out["stress"][0])
        if self.is_committee:
            self.results["energy_std"] = float(out["energy_std"][0])
            self.results["forces_std"] = out["forces_std"]
            if "stress_std" in out:
                self.results["stress_std"] = full_3x3_to_voigt_6_stress(out["stress_std"][0])

    def _threads(self):
        """Compiled calls of small structures run on at most two CPU threads (``gaunt_md.compiled.threads_for``)."""
        if isinstance(self.compiled, CompiledForceField):
            return threads_for(len(self.atoms), self.device)
        return nullcontext()
