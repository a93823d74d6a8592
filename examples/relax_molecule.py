"""Relax a distorted acetylacetone molecule with the pretrained gaunt-acac model (Python API).

Run from the repository root: python examples/relax_molecule.py
"""

from ase.io import read
from ase.optimize import BFGS

from gaunt_md import GauntCalculator

atoms = read("../shared/data/acac/test_MD_300K.xyz", 0)
atoms.rattle(0.05, seed=0)  # push it off the 300 K geometry
atoms.calc = GauntCalculator("gaunt-acac", dtype="float64")
print(f"before: E = {atoms.get_potential_energy():.4f} eV")
BFGS(atoms).run(fmax=0.01)
print(f"after:  E = {atoms.get_potential_energy():.4f} eV")
