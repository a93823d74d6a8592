"""A committee: several :class:`GauntForceField` of one architecture, whose spread estimates the error.

The members share the elements and cutoff, so one graph (one neighbour list) serves them all, and
rewritten for inference they run batched: one ``torch.vmap`` over their stacked weights; the
calculator reports their mean and, as ``energy_std``, ``forces_std`` and ``stress_std``, their
spread times ``std_scale``, one factor calibrated on validation frames (``gaunt-md fit
--committee``) so that the mean squared per-atom force error equals the mean squared ``forces_std``.
The fit also records ``max_force_std``, the largest per-frame force std among the validation frames:
the threshold of uncertainty-gated MD (``gaunt-md md --max-force-std auto``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .derivatives import energy_and_derivatives
from .files import atomic_write
from .formats import FORMAT, FORMAT_VERSION
from .model import GauntForceField, read_model_file


class Committee(torch.nn.Module):
    """Members evaluated on one batch of graphs, batched (after :meth:`for_inference`).

    ``forward`` returns the members' outputs stacked along a first axis of length K: ``energy [K, B]``
    (eV), ``energies [K, N]``, ``forces [K, N, 3]`` (eV/Å), ``stress [K, B, 3, 3]`` (eV/Å^3), as
    :meth:`GauntForceField.forward` gives them one by one.
    """

    def __init__(
        self, members: list[GauntForceField], std_scale: float = 1.0, max_force_std: float | None = None
    ) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"a committee needs at least 2 members, got {len(members)}")
        first = _architecture(members[0])
        for k, m in enumerate(members[1:], start=1):
            if differ := {name: (first[name], v) for name, v in _architecture(m).items() if first[name] != v}:
                raise ValueError(
                    f"committee member {k} differs from member 0 in {', '.join(differ)} "
                    f"({', '.join(f'{a} vs {b}' for a, b in differ.values())}): members must share the architecture"
                )
        if not std_scale > 0:
            raise ValueError(f"std_scale must be > 0, got {std_scale}")
        if max_force_std is not None and not max_force_std > 0:
            raise ValueError(f"max_force_std must be > 0 eV/Å, got {max_force_std}")
        self.members = torch.nn.ModuleList(members)
        self.std_scale = float(std_scale)
        self.max_force_std = None if max_force_std is None else float(max_force_std)  # eV/Å, from validation

    @property
    def config(self):
        """The first member's :class:`~gaunt_md.config.ModelConfig` (elements and r_max are shared)."""
        return self.members[0].config

    @property
    def species_of(self) -> dict[int, int]:
        return self.members[0].species_of

    @property
    def elements(self) -> list[str]:
        return self.members[0].elements

    def forward(self, graph, compute_forces: bool = True, compute_stress: bool = False) -> dict[str, torch.Tensor]:
        if not all(getattr(m, "rewritten", False) for m in self.members):
            raise ValueError("evaluate the committee's for_inference() copy (GauntCalculator does)")
        return energy_and_derivatives(
            lambda vectors: self._atomic_energies(graph, vectors),
            graph,
            compute_forces,
            compute_stress,
            copies=len(self.members),
        )

    def _atomic_energies(self, graph, vectors: torch.Tensor) -> torch.Tensor:
        """Members' per-atom energies [K, N] of edge vectors [K, E, 3], all members in one torch.vmap."""
        k, e = vectors.shape[:2]
        lengths, y = self.members[0].edge_features(vectors.reshape(k * e, 3))
        stacked = self._stacked()
        one = _EdgeEnergies(self.members[0])

        def member(tensors, lengths, y):
            return torch.func.functional_call(one, tensors, (graph, lengths, y))

        return torch.vmap(member)(stacked, lengths.view(k, e), y.view(k, e, -1))

    def _stacked(self) -> dict[str, torch.Tensor]:
        """The members' tensors that differ (weights, E0s, radial tables), stacked [K, ...], cached per
        device and dtype; the ones all share stay the first member's."""
        first = self.members[0]
        key = (first.embedding.device, first.embedding.dtype)
        if getattr(self, "_stack_cache", (None,))[0] != key:
            tensors = [dict(m.named_parameters()) | dict(m.named_buffers()) for m in self.members]
            stacked = {
                f"model.{name}": torch.stack([t[name] for t in tensors])
                for name in tensors[0]
                if not all(torch.equal(tensors[0][name], t[name]) for t in tensors[1:])
            }
            self._stack_cache = (key, stacked)
        return self._stack_cache[1]

    def for_inference(self) -> Committee:
        """A copy whose members are rewritten by :meth:`GauntForceField.for_inference`, so that they
        differ only in tensors and run batched, under one ``torch.vmap``."""
        return Committee([m.for_inference() for m in self.members], self.std_scale, self.max_force_std)

    def save(self, path: str | Path) -> None:
        """One file with every member's weights and hyperparameters, ``std_scale`` and ``max_force_std``."""
        blob = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "committee": {
                "std_scale": self.std_scale,
                "max_force_std": self.max_force_std,
                "members": [m.record() for m in self.members],
            },
        }
        atomic_write(path, lambda tmp: torch.save(blob, str(tmp)))

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> Committee:
        """Rebuild a committee saved with :meth:`save` (members in float64)."""
        blob = read_model_file(path, map_location)
        if "committee" not in blob:
            raise ValueError(f"{path} holds one model, not a committee")
        entry = blob["committee"]
        version = blob.get("format_version")
        members = [
            GauntForceField.from_blob({**m, "format_version": version}, f"{path} (member {k})")
            for k, m in enumerate(entry["members"])
        ]
        return cls(members, entry["std_scale"], entry.get("max_force_std"))  # older files have no threshold


def _architecture(model: GauntForceField) -> dict:
    """The settings members must share: all but the E0s, energy scale and shift, neighbour normaliser
    and parent, which a fit sets per model (they become tensors in the batched evaluation)."""
    own = ("e0s", "scale", "shift", "avg_num_neighbors", "parent")
    return {k: v for k, v in asdict(model.config).items() if k not in own}


class _EdgeEnergies(torch.nn.Module):
    """A member's per-atom energies from edge lengths and harmonics, as a module call (for functional_call)."""

    def __init__(self, model: GauntForceField) -> None:
        super().__init__()
        self.model = model

    def forward(self, graph, lengths: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model.energies_of_edges(graph, lengths, y)


def spread(out: dict[str, torch.Tensor], std_scale: float = 1.0) -> dict[str, torch.Tensor]:
    """Mean and scaled spread of a committee's stacked outputs (:meth:`Committee.forward`).

    Returns ``energy``, ``energies``, ``forces``, ``stress`` (members' means) and ``energy_std [B]``
    (eV), ``forces_std [N]`` (eV/Å: the root of the summed variances of the three components, i.e.
    the spread of the force vector), ``stress_std [B, 3, 3]`` (eV/Å^3): sample standard deviations
    over the members times ``std_scale``.
    """
    result = {key: value.mean(0) for key, value in out.items()}
    result["energy_std"] = std_scale * out["energy"].std(0)
    if "forces" in out:
        result["forces_std"] = std_scale * out["forces"].var(0).sum(-1).sqrt()
    if "stress" in out:
        result["stress_std"] = std_scale * out["stress"].std(0)
    return result


def load_model_or_committee(path: str | Path) -> GauntForceField | Committee:
    """The model or committee in a gaunt-md model file."""
    blob = read_model_file(path)
    return Committee.load(path) if "committee" in blob else GauntForceField.load(path)
