"""Geometry and cell relaxation with ASE's optimisers (``gaunt-md relax``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.io import write

from .data import snapshot

OPTIMIZERS = ("FIRE", "BFGS", "LBFGS")
CELL_MODES = ("full", "hydrostatic", "constant-volume")


@dataclass
class RelaxResult:
    """Summary of a relaxation; energies in eV, forces in eV/Å, stress in eV/Å^3, volumes in Å^3."""

    atoms: Atoms
    converged: bool
    steps: int
    initial_energy: float
    final_energy: float
    max_force: float
    max_stress: float | None
    initial_volume: float | None
    final_volume: float | None

    def summary(self) -> str:
        lines = [
            f"{'converged' if self.converged else 'NOT converged'} after {self.steps} steps",
            f"energy {self.initial_energy:.6f} -> {self.final_energy:.6f} eV ({self.final_energy - self.initial_energy:+.6f} eV)",
            f"max force {self.max_force:.5f} eV/Å",
        ]
        if self.max_stress is not None:
            lines.append(f"max stress {self.max_stress / units.GPa:.5f} GPa")
        if self.initial_volume is not None:
            change = 100 * (self.final_volume / self.initial_volume - 1)
            lines.append(f"volume {self.initial_volume:.3f} -> {self.final_volume:.3f} Å^3 ({change:+.2f} %)")
        return "\n".join(lines)


def relax(
    atoms: Atoms,
    optimizer: str = "FIRE",
    fmax: float = 0.05,
    steps: int = 1000,
    cell: bool = False,
    cell_mode: str = "full",
    pressure: float = 0.0,
    symmetry: bool = False,
    trajectory: str | Path | None = None,
    logfile: str | None = "-",
    before_writing: Callable[[], None] | None = None,
) -> RelaxResult:
    """Relax ``atoms`` (with a calculator attached) in place until every force is below ``fmax``
    (eV/Å) or ``steps`` are done.

    With ``cell=True`` the cell relaxes too, through ``ase.filters.FrechetCellFilter`` at the
    external ``pressure`` (GPa): ``cell_mode`` "full" (shape and volume), "hydrostatic" (volume only,
    the shape kept) or "constant-volume" (shape only); convergence then also needs the stress
    (times the volume) below ``fmax``. ``symmetry=True`` keeps the space group (``FixSymmetry``).
    Every step is appended to ``trajectory`` (extxyz with energy, forces and stress).

    The options and the structure are checked, and the first energy computed, before any file is
    opened: bad input raises ValueError and writes nothing. ``before_writing`` is called then, right
    before the trajectory is opened (``gaunt-md relax`` deletes the outputs it replaces there).
    """
    from ase import optimize
    from ase.filters import FrechetCellFilter

    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if cell_mode not in CELL_MODES:
        raise ValueError(f"unknown cell mode {cell_mode!r}; choose one of {', '.join(CELL_MODES)}")
    if fmax <= 0 or steps < 0:
        raise ValueError("fmax must be > 0 and steps ≥ 0")
    periodic = bool(atoms.pbc.all())
    if cell and not periodic:
        raise ValueError("cell relaxation needs a structure periodic in all three directions with a cell")
    if symmetry:
        from ase.constraints import FixSymmetry

        atoms.set_constraint(FixSymmetry(atoms))
    target = atoms
    if cell:
        target = FrechetCellFilter(
            atoms,
            hydrostatic_strain=cell_mode == "hydrostatic",
            constant_volume=cell_mode == "constant-volume",
            scalar_pressure=pressure * units.GPa,
        )
    initial_energy = atoms.get_potential_energy()
    initial_volume = atoms.get_volume() if periodic else None
    opt = getattr(optimize, optimizer)(target, logfile=logfile)
    if before_writing is not None:
        before_writing()
    if trajectory is not None:
        handle = open(trajectory, "a")
        opt.attach(lambda: (write(handle, snapshot(atoms, step=opt.nsteps), format="extxyz"), handle.flush()))
    try:
        converged = bool(opt.run(fmax=fmax, steps=steps))
    finally:
        if trajectory is not None:
            handle.close()
    forces = atoms.get_forces()
    return RelaxResult(
        atoms=atoms,
        converged=converged,
        steps=opt.nsteps,
        initial_energy=initial_energy,
        final_energy=atoms.get_potential_energy(),
        max_force=float(np.linalg.norm(forces, axis=1).max()),
        max_stress=float(np.abs(atoms.get_stress()).max()) if cell else None,
        initial_volume=initial_volume,
        final_volume=atoms.get_volume() if periodic else None,
    )
