"""Research and reference code of gaunt-md: used by the tests and benchmarks, not by the force field.

- The Poisson bracket (``_bracket``): :func:`gaunt_bracket` and :class:`GauntBracket`, the
  antisymmetric (l1+l2+l3 odd) couplings the Gaunt product lacks, and
  :func:`gaunt_product_and_bracket`, both from one grid pass. A force field carrying them was
  measured and did not pay off (``docs/bracket.md``).
- The 2D Fourier transforms of the Gaunt tensor product paper (``_fourier``): :class:`ToFourier`,
  :class:`FromFourier`, :func:`fourier_size`; the ``fourier`` backend of :func:`gaunt_md.so3.gaunt_product`.
"""

from ._bracket import GauntBracket, bracket_constant, gaunt_bracket, gaunt_product_and_bracket
from ._fourier import FromFourier, ToFourier, fourier_size

__all__ = [
    "FromFourier",
    "GauntBracket",
    "ToFourier",
    "bracket_constant",
    "fourier_size",
    "gaunt_bracket",
    "gaunt_product_and_bracket",
]
