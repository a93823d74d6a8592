"""Relax crystalline silicon read from a CIF, then get its bulk modulus from an equation of state.

Run from the repository root: python examples/si_eos.py [MODEL]   (default: gaunt-mlearn-Si)

Steps a materials user takes with any ASE calculator: read the CIF with pymatgen, relax the atoms and
the cell together (ASE's FrechetCellFilter), scale the relaxed cell by ±6% in volume, fit a
Birch-Murnaghan equation of state (ase.eos) to E(V) and write the plot to si_eos.png.
"""

import sys

import numpy as np
from ase.eos import EquationOfState
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from ase.units import GPa
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from gaunt_md import GauntCalculator

model = sys.argv[1] if len(sys.argv) > 1 else "gaunt-mlearn-Si"
structure = Structure.from_file("examples/Si.cif")  # diamond Si, 8 atoms, a = 5.43 Å
atoms = AseAtomsAdaptor.get_atoms(structure)
atoms.calc = GauntCalculator(model, dtype="float64")

BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=300)
a = atoms.cell.lengths()[0]
print(f"relaxed: a = {a:.4f} Å, E = {atoms.get_potential_energy() / len(atoms):.4f} eV/atom")

volumes, energies = [], []
cell = atoms.cell.copy()
for scale in np.linspace(0.94, 1.06, 9) ** (1 / 3):  # volume ±6%
    strained = atoms.copy()
    strained.calc = atoms.calc
    strained.set_cell(cell * scale, scale_atoms=True)
    volumes.append(strained.get_volume())
    energies.append(strained.get_potential_energy())

eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
v0, e0, bulk = eos.fit()
print(f"equation of state: V0 = {v0 / len(atoms):.3f} Å^3/atom, B = {bulk / GPa:.1f} GPa")
eos.plot("si_eos.png")
print("wrote si_eos.png")
