"""The SO(3) math of gaunt-md: real spherical harmonics, Gaunt coefficients, sphere grids, products.

Conventions are e3nn's (``normalization="integral"``, m ordered -l..l, flat index l² + l + m).
"""

from ._bracket import GauntBracket, bracket_constant, gaunt_bracket, gaunt_product_and_bracket
from ._degrees import lmax_of
from ._fourier import FromFourier, ToFourier, fourier_size
from ._gaunt_coefficients import gaunt_block, gaunt_tensor, path_constant, wigner_3j_zero_m
from ._grid import FromGrid, ToGrid, grid_shape
from ._harmonics import legendre, spherical_harmonics_alpha_beta
from ._product import BACKENDS, GauntProduct, gaunt_product

__all__ = [
    "BACKENDS",
    "FromFourier",
    "FromGrid",
    "GauntBracket",
    "GauntProduct",
    "ToFourier",
    "ToGrid",
    "bracket_constant",
    "fourier_size",
    "gaunt_block",
    "gaunt_bracket",
    "gaunt_product",
    "gaunt_product_and_bracket",
    "gaunt_tensor",
    "grid_shape",
    "legendre",
    "lmax_of",
    "path_constant",
    "spherical_harmonics_alpha_beta",
    "wigner_3j_zero_m",
]
