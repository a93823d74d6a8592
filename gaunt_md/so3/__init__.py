"""The SO(3) math of gaunt-md: real spherical harmonics, Gaunt coefficients, sphere grids, products.

Where each product is computed:

- the force field's convolution (``nn/convolution.py``): the dense Gaunt tensor
  :func:`gaunt_tensor`, applied once per atom to the neighbour sum (one matrix product);
- the force field's many-body product (``nn/many_body.py``): pointwise products on a Lebedev rule
  (:func:`lebedev_tables`, the fewest points for an exact projection), between one dense sampling
  and one dense projection matrix;
- :func:`gaunt_product` / :class:`GauntProduct`: the product on its own, for users and the
  tensor-product benchmark, not on the force field's path. Backends: ``grid`` (the default, a fused
  and blocked pass, ``_grid_product``), ``dense`` (the reference of the tests) and ``fourier``;
- ``experimental``: research and reference code that only tests and benchmarks use: the Poisson
  bracket (the odd paths) and the 2D Fourier transforms behind the ``fourier`` backend.

Files: ``_harmonics`` (Y_lm in angles, the Legendre recurrence), ``_gaunt_coefficients`` (Wigner
3j symbols, the Gaunt tensor), ``_grid`` (grid transforms), ``_lebedev`` (Lebedev rules and their tables), ``_grid_product`` (grid products and
brackets with their backward written out), ``_product`` (:func:`gaunt_product`), ``_checks``
(argument checks shared by the products).

Conventions are e3nn's (``normalization="integral"``, m ordered -l..l, flat index l² + l + m).
"""

from ._gaunt_coefficients import gaunt_tensor
from ._grid import FromGrid, ToGrid, grid_shape
from ._lebedev import lebedev_tables
from ._product import BACKENDS, GauntProduct, gaunt_product

__all__ = [
    "BACKENDS",
    "FromGrid",
    "GauntProduct",
    "ToGrid",
    "gaunt_product",
    "gaunt_tensor",
    "grid_shape",
    "lebedev_tables",
]
