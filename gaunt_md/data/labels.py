"""Reference labels of training data: reading extxyz (or any ase.io format) with named keys.

A key names where a label lives in each frame: ``atoms.info`` (energy, stress), ``atoms.arrays``
(forces) or, as ASE ≥ 3.23 puts ``energy``/``forces``/``stress`` of extxyz files, the results of
the frame's SinglePointCalculator. Units: eV, eV/Å, eV/Å^3 (ASE's stress sign convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read
from ase.stress import voigt_6_to_full_3x3_stress
from ase.units import GPa


@dataclass
class Frame:
    """One labelled structure: energy (eV), forces [N, 3] (eV/Å), stress [3, 3] (eV/Å^3) or None."""

    atoms: Atoms
    energy: float
    forces: np.ndarray
    stress: np.ndarray | None
    config_type: str


def _available(atoms: Atoms) -> list[str]:
    names = set(atoms.info) | {k for k in atoms.arrays if k not in ("numbers", "positions")}
    if atoms.calc is not None:
        names |= set(getattr(atoms.calc, "results", {}))
    return sorted(names)


def _label(atoms: Atoms, key: str):
    if key in atoms.info:
        return atoms.info[key]
    if key in atoms.arrays:
        return atoms.arrays[key]
    results = getattr(atoms.calc, "results", {}) if atoms.calc is not None else {}
    return results.get(key)


def read_frames(
    path: str | Path,
    energy_key: str = "energy",
    forces_key: str = "forces",
    stress_key: str | None = None,
    index: str = ":",
    stress_offset: float = 0.0,
) -> list[Frame]:
    """All frames of ``path`` with their labels; a clear ValueError naming the frame otherwise.

    Energy and forces are required. With ``stress_key``, stress (a 6-vector in Voigt order or a 3x3
    matrix) is read where a frame has it; frames without it get ``stress=None`` (trained on energy
    and forces only), and a key that no frame has is an error. ``stress_offset`` (GPa, ASE sign) is
    subtracted from the diagonal of every stress label (a constant such as VASP's Pulay stress).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    try:
        images = read(path, index=index)
    except Exception as exc:  # ase raises many types for unreadable files
        raise ValueError(f"could not read {path}: {type(exc).__name__}: {exc}") from None
    frames = []
    for i, atoms in enumerate(images if isinstance(images, list) else [images]):
        labels = {}
        for what, key in (("energy", energy_key), ("forces", forces_key), ("stress", stress_key)):
            if key is None:
                continue
            value = _label(atoms, key)
            if value is None and what == "stress":
                continue
            if value is None:
                raise ValueError(
                    f"frame {i} of {path} has no {what} under the key {key!r}; "
                    f"keys it has: {', '.join(_available(atoms)) or 'none'}"
                )
            value = np.asarray(value, dtype=np.float64)
            if not np.all(np.isfinite(value)):
                raise ValueError(f"frame {i} of {path}: the {what} ({key!r}) contains NaN or infinite values")
            labels[what] = value
        forces = labels["forces"]
        if forces.shape != (len(atoms), 3):
            raise ValueError(f"frame {i} of {path}: forces have shape {forces.shape}, expected ({len(atoms)}, 3)")
        stress = labels.get("stress")
        if stress is not None:
            if stress.size not in (6, 9):
                raise ValueError(f"frame {i} of {path}: stress has shape {stress.shape}, expected (6,) or (3, 3)")
            stress = voigt_6_to_full_3x3_stress(stress) if stress.size == 6 else stress.reshape(3, 3)
            stress = stress - stress_offset * GPa * np.eye(3)
        frames.append(
            Frame(atoms, float(labels["energy"]), forces, stress, str(atoms.info.get("config_type", "default")))
        )
    if not frames:
        raise ValueError(f"{path} holds no structures")
    if stress_key is not None and all(f.stress is None for f in frames):
        raise ValueError(
            f"no frame of {path} has stress under the key {stress_key!r}; "
            f"keys frame 0 has: {', '.join(_available(frames[0].atoms)) or 'none'}"
        )
    return frames
