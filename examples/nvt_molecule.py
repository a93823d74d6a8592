"""0.5 ps of Langevin NVT molecular dynamics of acetylacetone at 300 K (Python API, ASE integrator).

Run from the repository root: python examples/nvt_molecule.py
"""

import numpy as np
from ase import units
from ase.io import read
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from gaunt_md import GauntCalculator

atoms = read("../shared/data/acac/test_MD_300K.xyz", 0)
atoms.calc = GauntCalculator("gaunt-acac", dtype="float32")  # float32: fast; use float64 for NVE
thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
Stationary(atoms)
dyn = Langevin(
    atoms, timestep=0.5 * units.fs, temperature_K=300, friction=0.01 / units.fs, rng=np.random.default_rng(1)
)
dyn.attach(
    lambda: print(
        f"{dyn.nsteps * 0.5 / 1000:.3f} ps  T = {atoms.get_temperature():6.1f} K  "
        f"Epot = {atoms.get_potential_energy():.4f} eV"
    ),
    interval=100,
)
dyn.run(1000)
