"""Layers of the Gaunt force field: radial functions, per-degree channel mixing, Gaunt convolution,
many-body products on the sphere grid."""

from .convolution import GauntConvolution
from .linear import DegreeLinear, Dense
from .many_body import ManyBodyProduct
from .radial import RadialEmbedding

__all__ = ["DegreeLinear", "Dense", "GauntConvolution", "ManyBodyProduct", "RadialEmbedding"]
