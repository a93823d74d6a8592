"""Reading one input structure for ``gaunt-md relax`` and ``gaunt-md md``."""

from __future__ import annotations

from pathlib import Path

from ase import Atoms


def read_structure(path: str | Path, index: int | str = -1) -> Atoms:
    """Frame ``index`` of any file ``ase.io.read`` understands (xyz/extxyz, CIF, POSCAR, .traj,
    PDB); CIF and POSCAR files ASE cannot parse are tried again through pymatgen.

    Labels the file carries (energy, forces, ``info`` entries such as ``config_type``, per-atom arrays
    other than ASE's own) are dropped: they must not be mistaken for model results or copied into
    every frame of a trajectory. Raises FileNotFoundError for a missing file and ValueError for one
    that neither can read or an ``index`` outside it.
    """
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"structure file {path} does not exist")
    try:
        atoms = read(path, index=index)
    except (IndexError, StopIteration):
        raise ValueError(f"--index {index} is outside {path}, which has {_count_frames(path)} frame(s)") from None
    except Exception as ase_error:  # ase raises many types for unreadable files
        atoms = _read_with_pymatgen(path)
        if atoms is None:
            raise ValueError(f"cannot read a structure from {path}: {type(ase_error).__name__}: {ase_error}") from None
    if isinstance(atoms, list):
        raise ValueError(f"--index {index!r} selects {len(atoms)} frames of {path}; give a single frame")
    if len(atoms) == 0:
        raise ValueError(f"{path} frame {index} has no atoms")
    atoms.calc = None
    atoms.info.clear()
    for key in set(atoms.arrays) - ASE_ARRAYS:
        del atoms.arrays[key]
    return atoms


ASE_ARRAYS = {"numbers", "positions", "momenta", "masses", "tags", "initial_magmoms", "initial_charges"}


def _count_frames(path: Path) -> int:
    from ase.io import iread

    return sum(1 for _ in iread(path, index=":"))


def _read_with_pymatgen(path: Path) -> Atoms | None:
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    try:
        return AseAtomsAdaptor.get_atoms(Structure.from_file(str(path)))
    except Exception:  # pymatgen could not read it either; the caller reports ASE's reason
        return None


def snapshot(atoms: Atoms, **info) -> Atoms:
    """A copy of ``atoms`` carrying its calculator's current energy (eV), forces (eV/Å) and, when
    periodic, stress (eV/Å^3) as a SinglePointCalculator, plus ``info`` entries: a trajectory frame."""
    from ase.calculators.singlepoint import SinglePointCalculator

    frame = atoms.copy()
    results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}
    if atoms.pbc.all():
        results["stress"] = atoms.get_stress()
    frame.calc = SinglePointCalculator(frame, **results)
    frame.info.update(info)
    return frame
