"""Layers of the Gaunt force field: radial functions, per-degree channel mixing, Gaunt convolution,
many-body products on the sphere grid, a ZBL pair prior."""

from .convolution import GauntConvolution
from .linear import DegreeLinear, Dense
from .many_body import ManyBodyProduct, MixedManyBodyProduct
from .pair_repulsion import ZBLRepulsion
from .radial import RadialEmbedding

__all__ = [
    "DegreeLinear",
    "Dense",
    "GauntConvolution",
    "ManyBodyProduct",
    "MixedManyBodyProduct",
    "RadialEmbedding",
    "ZBLRepulsion",
]
