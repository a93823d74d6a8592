"""gaunt-md: machine-learned interatomic potentials built on the Gaunt tensor product.

``GauntCalculator`` (the ASE calculator) and ``GauntForceField`` (the model) are imported on first
use, so that ``import gaunt_md`` and the command line's help do not load torch.
"""

from ._version import __version__

__all__ = ["GauntCalculator", "GauntForceField", "__version__"]


def __getattr__(name: str):
    if name == "GauntCalculator":
        from .calculator import GauntCalculator

        return GauntCalculator
    if name == "GauntForceField":
        from .model import GauntForceField

        return GauntForceField
    raise AttributeError(f"module 'gaunt_md' has no attribute {name!r}")
