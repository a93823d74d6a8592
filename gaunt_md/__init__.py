"""gaunt-md: machine-learned interatomic potentials built on the Gaunt tensor product."""

from .calculator import GauntCalculator
from .model import GauntForceField

__version__ = "0.1.0"
__all__ = ["GauntCalculator", "GauntForceField", "__version__"]
