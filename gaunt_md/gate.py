"""Uncertainty-gated MD (``gaunt-md md --max-force-std X``): the active-learning step.

With a committee (:mod:`gaunt_md.committee`) the calculator reports each atom's force std (eV/Å).
:class:`UncertaintyGate`, an ASE observer, appends every frame whose largest force std exceeds the
threshold to ``PREFIX_uncertain.extxyz`` (for labelling), and with ``stop`` ends the run there.
"""

from __future__ import annotations

from pathlib import Path

from ase import Atoms
from ase.io import write

from .data import snapshot


class Uncertain(RuntimeError):
    """The committee's largest force std exceeded the threshold and the run was asked to stop there."""

    last_written_step: int | None = None


def max_force_std(atoms: Atoms) -> float | None:
    """The largest per-atom force std (eV/Å) of the current structure, or None without a committee."""
    calc = atoms.calc
    if calc is None or "forces_std" not in getattr(calc, "implemented_properties", ()):
        return None
    return float(calc.get_property("forces_std", atoms).max())


class UncertaintyGate:
    """Observer: frames with max force std > ``threshold`` (eV/Å) are appended to ``path`` (extxyz,
    opened at the first one) with the model's energy and forces, ``info['step']``, ``info['time_fs']``
    and ``info['max_force_std']``; ``stop`` raises :class:`Uncertain` at the first one. Made before
    the run (it refuses a single model); ``run_md`` sets ``step``, the current step's callable."""

    def __init__(self, atoms: Atoms, threshold: float, path: Path, timestep: float, stop: bool = False) -> None:
        if max_force_std(atoms) is None:
            raise ValueError(
                "--max-force-std needs a committee (gaunt-md fit --committee N): a single model has no spread"
            )
        if not threshold > 0:
            raise ValueError(f"the force std threshold must be > 0 eV/Å, got {threshold}")
        self.atoms, self.threshold, self.path, self.timestep, self.stop = atoms, threshold, path, timestep, stop
        self.step, self.count = (lambda: 0), 0

    def __call__(self) -> None:
        value = max_force_std(self.atoms)
        if value <= self.threshold:
            return
        step = self.step()
        frame = snapshot(self.atoms, step=step, time_fs=step * self.timestep, max_force_std=value)
        with self.path.open("a") as handle:
            write(handle, frame, format="extxyz")
        self.count += 1
        if self.stop:
            raise Uncertain(f"step {step}: the largest force std is {value:.3f} eV/Å, above {self.threshold} eV/Å")
