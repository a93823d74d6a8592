"""Elemental Mo frames of the NbMoTaW data that are not in mlearn Mo: an independent set for gaunt-mlearn-Mo.

Both sets come from the same group's VASP runs (PBE, PAW, 520 eV; the 12 NbMoTaW Mo frames that are also in mlearn
Mo carry the same energies to 0.3 meV/atom). The other 350 (AIMD at 300, 1000 and 3000 K, MD at 90% and 110% of the
equilibrium volume, strained 2-atom cells) are split by config_type into a selection part (every sixth frame of each
type: the validation file of the fit, which picks its epoch) and a decision part (the rest: the ship rule).

    python models/independent.py      # writes models/_work/nbmotaw-Mo-select.xyz and nbmotaw-Mo-decide.xyz
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
WORK = HERE / "_work"
EVERY = 6  # every sixth frame of each config_type selects, the rest decide


def _signature(atoms: Atoms) -> tuple[int, np.ndarray, np.ndarray]:
    """Atom count, cell and sorted coordinates: equal (to 1e-3 Å) for the same structure in any atom order."""
    return len(atoms), atoms.cell.array, np.sort(atoms.positions.ravel())


def _same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and np.allclose(a[1], b[1], atol=1e-3) and np.allclose(a[2], b[2], atol=1e-3)


def mo_frames() -> list[Atoms]:
    """The elemental Mo frames of nbmotaw's train and test files that match no frame of mlearn Mo's."""
    nbmotaw = read(DATA / "nbmotaw" / "train.xyz", ":") + read(DATA / "nbmotaw" / "test.xyz", ":")
    mlearn = read(DATA / "mlearn" / "Mo" / "train.xyz", ":") + read(DATA / "mlearn" / "Mo" / "test.xyz", ":")
    known = [_signature(b) for b in mlearn]
    mo = [a for a in nbmotaw if set(a.get_chemical_symbols()) == {"Mo"}]
    return [a for a in mo if not any(_same(_signature(a), b) for b in known)]


def write_files(work: Path = WORK) -> tuple[Path, Path]:
    """Write the selection and decision files (extxyz, energies, forces and stresses) and return their paths."""
    seen, parts = Counter(), {"select": [], "decide": []}
    for atoms in mo_frames():
        kind = atoms.info["config_type"]
        parts["select" if seen[kind] % EVERY == 0 else "decide"].append(atoms)
        seen[kind] += 1
    work.mkdir(parents=True, exist_ok=True)
    paths = tuple(work / f"nbmotaw-Mo-{part}.xyz" for part in parts)
    for path, frames in zip(paths, parts.values()):
        write(path, frames)
    return paths


if __name__ == "__main__":
    for path in write_files():
        print(path, len(read(path, ":")), "frames")
