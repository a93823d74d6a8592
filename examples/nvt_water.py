"""0.1 ps of Langevin NVT dynamics of liquid water (64 H2O, periodic) with gaunt-water, printing
pressure from the model's stress.

Run from the repository root: python examples/nvt_water.py
"""

import numpy as np
from ase import units
from ase.io import read
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from gaunt_md import GauntCalculator

atoms = read("../shared/data/water/test.xyz", 0)
atoms.calc = GauntCalculator("gaunt-water", dtype="float32")
thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
Stationary(atoms)
dyn = Langevin(
    atoms, timestep=0.5 * units.fs, temperature_K=300, friction=0.01 / units.fs, rng=np.random.default_rng(1)
)


def report():
    pressure = -atoms.get_stress(include_ideal_gas=True)[:3].mean() / units.GPa
    print(f"{dyn.nsteps * 0.5 / 1000:.3f} ps  T = {atoms.get_temperature():6.1f} K  P = {pressure:6.3f} GPa")


dyn.attach(report, interval=50)
dyn.run(200)
