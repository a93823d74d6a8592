r"""The Poisson bracket of spherical functions: the antisymmetric (odd-path) couplings.

For x1 (degree ≤ L1) and x2 (degree ≤ L2), coefficient vectors in e3nn's real basis
(``normalization="integral"``, see ``so3/_harmonics.py``) of f1 and f2, the bracket is

    b_lm = ∫_S2 {f1, f2}(s) Y_lm(s) dΩ,      {f, g}(s) = s · (∇f(s) × ∇g(s)),

with surface gradients ∇. {f, g} has degree ≤ L1+L2-1 (it is the restriction of a polynomial of
that degree), is antisymmetric, and is a pseudo-scalar field: its degree-l part is a pseudo-tensor of
parity (-1)^(l+1). For f = a·s, g = b·s, {f, g} = (a × b)·s. Written with coefficients, it holds
exactly the paths that the Gaunt product lacks, l1+l2+l3 odd:

    b_l3 = Σ_{l1 l2} κ(l1, l2, l3) · wigner_3j(l1, l2, l3) x1_l1 x2_l2,
    κ(l1, l2, l3) = sqrt(l1(l1+1) l2(l2+1) (2l1+1)(2l2+1)(2l3+1) / 4π) · |(l1 l2 l3; 1 -1 0)|,

with e3nn's ``wigner_3j`` (unit Frobenius norm) and the Wigner 3j symbol (l1 l2 l3; 1 -1 0),
evaluated exactly. κ follows from ∇Y_lm = sqrt(l(l+1)) · (spin-weight ±1 harmonics) and the
integral of three spin-weighted harmonics; with e3nn's sign convention for ``wigner_3j`` it is
positive for every path (checked against a brute-force quadrature in the tests). Example:
κ(1, 1, 1) = 3 / sqrt(2π), from {s_a, s_b} = ε_abc s_c.

Backends: ``grid`` samples f1, f2 and their gradients exactly on the Gauss-Legendre × uniform grid of
``so3/_grid.py`` (∂/∂α spectrally, ∂/∂z from the differentiated Legendre recurrence), forms
{f, g} = ∂_α f ∂_z g - ∂_z f ∂_α g (z = cos β; this is (1/sin β)(∂_β f ∂_α g - ∂_α f ∂_β g), the
orientation of e3nn's frame s = (sin β sin α, cos β, sin β cos α)), and projects it by quadrature;
O(L^3), fused and blocked with the product, its derivatives written out (``so3/_grid_product.py``).
``dense`` contracts with the tensor above (the reference).
"""

from __future__ import annotations

import functools
import math

import torch

from .._checks import check_backend, check_input_degrees, check_operands, check_output_degree, operand_degrees
from .._gaunt_coefficients import assemble_paths, gaunt_tensor, outer_rows, scaled_wigner_3j, wigner_3j_symbol
from .._grid_product import BRACKET, PRODUCT, GridBilinear, fused_broadcast

BRACKET_BACKENDS = ("grid", "dense")


def bracket_constant(l1: int, l2: int, l3: int) -> float:
    """κ(l1, l2, l3) such that the bracket block of the path equals κ · e3nn ``wigner_3j`` (0 for
    paths with l1+l2+l3 even or outside the triangle)."""
    if (l1 + l2 + l3) % 2 == 0 or not abs(l1 - l2) <= l3 <= l1 + l2:
        return 0.0
    norm = l1 * (l1 + 1) * l2 * (l2 + 1) * (2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4.0 * math.pi)
    return math.sqrt(norm) * abs(wigner_3j_symbol(l1, l2, l3, 1, -1, 0))


@functools.cache
def bracket_block(l1: int, l2: int, l3: int) -> torch.Tensor:
    """∫ {Y_l1m1, Y_l2m2} Y_l3m3 dΩ for one path: [2l1+1, 2l2+1, 2l3+1], float64."""
    return scaled_wigner_3j(bracket_constant(l1, l2, l3), l1, l2, l3)


@functools.cache
def bracket_tensor(lmax1: int, lmax2: int, lmax3: int) -> torch.Tensor:
    """All bracket coefficients up to the given degrees: [(L1+1)**2, (L2+1)**2, (L3+1)**2], float64."""
    return assemble_paths(bracket_block, lmax1, lmax2, lmax3, odd=True)


def _check_degrees(lmax1: int, lmax2: int, lmax_out: int) -> None:
    check_input_degrees(lmax1, lmax2)
    if lmax1 + lmax2 == 0:
        raise ValueError(
            "the bracket of two degree-0 inputs vanishes identically: no output degree is valid "
            "(lmax_out must be in [0, L1+L2-1] and L1+L2-1 = -1)"
        )
    check_output_degree("lmax_out", lmax_out, lmax1, lmax2, odd=True)


class GauntBracket(torch.nn.Module):
    """Module form of :func:`gaunt_bracket`: transform tensors are buffers, so ``.to()`` moves them.

    With ``product_lmax_out`` set, ``forward`` returns ``(product, bracket)``: the Gaunt product up to
    that degree (as :class:`gaunt_md.so3.GauntProduct`) and the bracket, from one grid transform of each input.
    Buffers are float64 at construction; call ``.to(dtype)`` to match the inputs.
    """

    def __init__(
        self, lmax1: int, lmax2: int, lmax_out: int, backend: str = "grid", product_lmax_out: int | None = None
    ) -> None:
        super().__init__()
        check_backend(backend, BRACKET_BACKENDS)
        _check_degrees(lmax1, lmax2, lmax_out)
        if product_lmax_out is not None:
            check_output_degree("product_lmax_out", product_lmax_out, lmax1, lmax2)
        self.lmax1, self.lmax2, self.lmax_out, self.backend = lmax1, lmax2, lmax_out, backend
        self.product_lmax_out = product_lmax_out
        if backend == "grid":
            degree = lmax1 + lmax2 - 1 + lmax_out  # {f1, f2} Y_lm
            outputs = ((lmax_out, ((BRACKET, 0, 1),)),)
            degrees = {lmax1, lmax2, lmax_out}
            if product_lmax_out is not None:
                degree = max(degree, lmax1 + lmax2 + product_lmax_out)  # f1 f2 Y_lm
                outputs = ((product_lmax_out, ((PRODUCT, 0, 1),)),) + outputs
                degrees.add(product_lmax_out)
            self.grid = GridBilinear(degrees, degree, gradient=True)
            self.spec = ((lmax1, lmax2), outputs)
        else:
            t = bracket_tensor(lmax1, lmax2, lmax_out)
            self.register_buffer("bracket", t.reshape(-1, t.shape[-1]), persistent=False)
            if product_lmax_out is not None:
                g = gaunt_tensor(lmax1, lmax2, product_lmax_out)
                self.register_buffer("gaunt", g.reshape(-1, g.shape[-1]), persistent=False)

    def extra_repr(self) -> str:
        product = "" if self.product_lmax_out is None else f", product_lmax_out={self.product_lmax_out}"
        return f"lmax1={self.lmax1}, lmax2={self.lmax2}, lmax_out={self.lmax_out}, backend={self.backend!r}{product}"

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        check_operands(self, x1, x2, "bracket")
        lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        with_product = self.product_lmax_out is not None
        if lead.numel() == 0:  # keep the graph for autograd
            zero = 0.0 * (x1.sum() + x2.sum())
            bracket = x1.new_zeros(*lead, (self.lmax_out + 1) ** 2) + zero
            return (x1.new_zeros(*lead, (self.product_lmax_out + 1) ** 2) + zero, bracket) if with_product else bracket
        if self.backend == "dense":
            outer = outer_rows(x1, x2)
            bracket = outer @ self.bracket
            return (outer @ self.gaunt, bracket) if with_product else bracket
        outs = fused_broadcast(self.spec, self.grid, x1, x2)
        return outs if with_product else outs[0]


@functools.lru_cache(maxsize=64)
def _cached_bracket(
    lmax1: int,
    lmax2: int,
    lmax_out: int,
    backend: str,
    product_lmax_out: int | None,
    dtype: torch.dtype,
    device: torch.device,
) -> GauntBracket:
    return GauntBracket(lmax1, lmax2, lmax_out, backend, product_lmax_out).to(device=device, dtype=dtype)


def gaunt_bracket(
    x1: torch.Tensor, x2: torch.Tensor, lmax_out: int | None = None, backend: str = "grid"
) -> torch.Tensor:
    """Poisson bracket of ``x1: [..., (L1+1)**2]`` and ``x2: [..., (L2+1)**2]`` → ``[..., (lmax_out+1)**2]``.

    b_lm = ∫ {f1, f2} Y_lm dΩ; ``lmax_out`` defaults to L1 + L2 - 1, its largest valid value.
    Leading dimensions broadcast. Tables are built once per (degrees, backend, dtype, device).
    """
    lmax1, lmax2 = operand_degrees(x1, x2, backend, BRACKET_BACKENDS)
    if lmax_out is None:
        lmax_out = max(lmax1 + lmax2 - 1, 0)
    return _cached_bracket(lmax1, lmax2, lmax_out, backend, None, x1.dtype, x1.device)(x1, x2)


def gaunt_product_and_bracket(
    x1: torch.Tensor,
    x2: torch.Tensor,
    lmax_product: int | None = None,
    lmax_bracket: int | None = None,
    backend: str = "grid",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(:func:`gaunt_md.so3.gaunt_product`, :func:`gaunt_bracket`) of ``x1``, ``x2`` from one grid transform of each.

    ``lmax_product`` defaults to L1 + L2 and ``lmax_bracket`` to L1 + L2 - 1.
    """
    lmax1, lmax2 = operand_degrees(x1, x2, backend, BRACKET_BACKENDS)
    lmax_product = lmax1 + lmax2 if lmax_product is None else lmax_product
    lmax_bracket = max(lmax1 + lmax2 - 1, 0) if lmax_bracket is None else lmax_bracket
    _check_degrees(lmax1, lmax2, lmax_bracket)
    check_output_degree("lmax_product", lmax_product, lmax1, lmax2)
    return _cached_bracket(lmax1, lmax2, lmax_bracket, backend, lmax_product, x1.dtype, x1.device)(x1, x2)
