"""Isolated-atom energies E0 (eV): from a file of single-atom frames, or by least squares."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .labels import Frame


def e0s_from_isolated_atoms(path: str | Path, energy_key: str = "energy") -> dict[int, float]:
    """{Z: energy} from a file whose frames each hold one atom (forces are not needed)."""
    from ase.io import read

    e0s: dict[int, float] = {}
    for i, atoms in enumerate(read(Path(path), index=":")):
        if len(atoms) != 1:
            raise ValueError(f"frame {i} of {path} has {len(atoms)} atoms; an isolated-atom file holds one per frame")
        value = atoms.info.get(energy_key)
        if value is None and atoms.calc is not None:
            value = atoms.calc.results.get(energy_key)
        if value is None:
            raise ValueError(f"frame {i} of {path} has no energy under the key {energy_key!r}")
        e0s[int(atoms.numbers[0])] = float(value)
    return e0s


def e0s_least_squares(frames: Sequence[Frame], elements: Sequence[int]) -> dict[int, float]:
    """E0s minimising Σ_frames (E - Σ_i E0[z_i])². Where element counts are proportional in every
    frame (liquid water: always 2 H per O) only their combination is determined, and lstsq returns
    the minimum-norm split of it; the model's shift and per-atom energies absorb the rest."""
    counts = np.array([[np.count_nonzero(f.atoms.numbers == z) for z in elements] for f in frames], dtype=np.float64)
    energies = np.array([f.energy for f in frames])
    solution, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return {int(z): float(e) for z, e in zip(elements, solution)}
