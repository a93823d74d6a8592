r"""The Poisson bracket of spherical functions: the antisymmetric (odd-path) couplings.

For x1 (degree ≤ L1) and x2 (degree ≤ L2), coefficient vectors in e3nn's real basis
(``normalization="integral"``, see ``_harmonics``) of f1 and f2, the bracket is

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
``_grid`` (∂/∂α spectrally, ∂/∂z from the differentiated Legendre recurrence), forms
{f, g} = ∂_α f ∂_z g - ∂_z f ∂_α g (z = cos β; this is (1/sin β)(∂_β f ∂_α g - ∂_α f ∂_β g), the
orientation of e3nn's frame s = (sin β sin α, cos β, sin β cos α)), and projects it by quadrature;
O(L^3), fused and blocked with the product, its derivatives written out (``_grid_product``). ``dense`` contracts with the tensor above (the reference).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import torch

from ._degrees import check_same_kind, lmax_of
from ._gaunt_coefficients import assemble_paths, gaunt_tensor, scaled_wigner_3j
from ._grid_product import BRACKET, PRODUCT, GridBilinear, fused

BRACKET_BACKENDS = ("grid", "dense")


def wigner_3j_symbol(j1: int, j2: int, j3: int, m1: int, m2: int, m3: int) -> float:
    """The Wigner 3j symbol (j1 j2 j3; m1 m2 m3) by Racah's formula, exact up to the final rounding."""
    if m1 + m2 + m3 or not abs(j1 - j2) <= j3 <= j1 + j2 or abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 0.0
    f = math.factorial
    total = Fraction(0)
    for k in range(max(0, j2 - j3 - m1, j1 - j3 + m2), min(j1 + j2 - j3, j1 - m1, j2 + m2) + 1):
        denominator = f(k) * f(j3 - j2 + k + m1) * f(j3 - j1 + k - m2) * f(j1 + j2 - j3 - k) * f(j1 - k - m1) * f(j2 - k + m2)
        total += Fraction((-1) ** k, denominator)
    square = Fraction(f(j1 + j2 - j3) * f(j1 - j2 + j3) * f(-j1 + j2 + j3), f(j1 + j2 + j3 + 1))
    square *= f(j1 + m1) * f(j1 - m1) * f(j2 + m2) * f(j2 - m2) * f(j3 + m3) * f(j3 - m3)
    sign = (-1) ** (j1 - j2 - m3) * (1 if total >= 0 else -1)
    return sign * math.sqrt(square * total * total)


def bracket_constant(l1: int, l2: int, l3: int) -> float:
    """κ(l1, l2, l3) such that the bracket block of the path equals κ · e3nn ``wigner_3j`` (0 for
    paths with l1+l2+l3 even or outside the triangle)."""
    if (l1 + l2 + l3) % 2 == 0 or not abs(l1 - l2) <= l3 <= l1 + l2:
        return 0.0
    norm = l1 * (l1 + 1) * l2 * (l2 + 1) * (2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4.0 * math.pi)
    return math.sqrt(norm) * abs(wigner_3j_symbol(l1, l2, l3, 1, -1, 0))


@functools.lru_cache(maxsize=None)
def bracket_block(l1: int, l2: int, l3: int) -> torch.Tensor:
    """∫ {Y_l1m1, Y_l2m2} Y_l3m3 dΩ for one path: [2l1+1, 2l2+1, 2l3+1], float64."""
    return scaled_wigner_3j(bracket_constant(l1, l2, l3), l1, l2, l3)


@functools.lru_cache(maxsize=None)
def bracket_tensor(lmax1: int, lmax2: int, lmax3: int) -> torch.Tensor:
    """All bracket coefficients up to the given degrees: [(L1+1)**2, (L2+1)**2, (L3+1)**2], float64."""
    return assemble_paths(bracket_block, lmax1, lmax2, lmax3, odd=True)


def _check_degrees(lmax1: int, lmax2: int, lmax_out: int) -> None:
    if min(lmax1, lmax2) < 0:
        raise ValueError(f"input degrees must be ≥ 0, got {lmax1} and {lmax2}")
    if lmax1 + lmax2 == 0:
        raise ValueError("the bracket of two degree-0 inputs vanishes identically: no output degree is valid "
                         "(lmax_out must be in [0, L1+L2-1] and L1+L2-1 = -1)")
    if not 0 <= lmax_out <= lmax1 + lmax2 - 1:
        raise ValueError(f"lmax_out must be in [0, L1+L2-1] = [0, {lmax1 + lmax2 - 1}], got {lmax_out}")


def _check_backend(backend: str) -> None:
    if backend not in BRACKET_BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(BRACKET_BACKENDS)}")


class GauntBracket(torch.nn.Module):
    """Module form of :func:`gaunt_bracket`: transform tensors are buffers, so ``.to()`` moves them.

    With ``product_lmax_out`` set, ``forward`` returns ``(product, bracket)``: the Gaunt product up to
    that degree (as :class:`GauntProduct`) and the bracket, from one grid transform of each input.
    Buffers are float64 at construction; call ``.to(dtype)`` to match the inputs.
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int, backend: str = "grid",
                 product_lmax_out: int | None = None) -> None:
        super().__init__()
        _check_backend(backend)
        _check_degrees(lmax1, lmax2, lmax_out)
        if product_lmax_out is not None and not 0 <= product_lmax_out <= lmax1 + lmax2:
            raise ValueError(f"product_lmax_out must be in [0, L1+L2] = [0, {lmax1 + lmax2}], got {product_lmax_out}")
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

    def forward(self, x1: torch.Tensor, x2: torch.Tensor):
        check_same_kind(("x1", x1), ("x2", x2))
        for name, x, lmax in (("x1", x1, self.lmax1), ("x2", x2, self.lmax2)):
            if lmax_of(x, name) != lmax:
                raise ValueError(f"{name} has degree {lmax_of(x, name)} but this bracket was built for {lmax}")
        buffer = next(b for b in self.buffers() if b.is_floating_point())
        if buffer.device != x1.device or buffer.dtype != x1.dtype:
            raise TypeError(
                f"inputs are {x1.dtype} on {x1.device} but the bracket's tables are {buffer.dtype} on "
                f"{buffer.device}; call .to(device, dtype) on the module"
            )
        lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        with_product = self.product_lmax_out is not None
        n_out = (self.lmax_out + 1) ** 2
        n_product = None if not with_product else (self.product_lmax_out + 1) ** 2
        if lead.numel() == 0:  # keep the graph for autograd
            zero = 0.0 * (x1.sum() + x2.sum())
            bracket = x1.new_zeros(*lead, n_out) + zero
            return (x1.new_zeros(*lead, n_product) + zero, bracket) if with_product else bracket
        if self.backend == "dense":
            x1, x2 = torch.broadcast_tensors(x1[..., :, None], x2[..., None, :])
            outer = (x1 * x2).reshape(*lead, -1)
            bracket = outer @ self.bracket
            return (outer @ self.gaunt, bracket) if with_product else bracket
        a = x1.expand(*lead, x1.shape[-1]).reshape(lead.numel(), x1.shape[-1])
        b = x2.expand(*lead, x2.shape[-1]).reshape(lead.numel(), x2.shape[-1])
        outs = [out.view(*lead, out.shape[-1]) for out in fused(self.spec, self.grid, a, b)]
        return tuple(outs) if with_product else outs[0]


@functools.lru_cache(maxsize=64)
def _cached_bracket(lmax1: int, lmax2: int, lmax_out: int, backend: str, product_lmax_out: int | None,
                    dtype: torch.dtype, device: torch.device) -> GauntBracket:
    return GauntBracket(lmax1, lmax2, lmax_out, backend, product_lmax_out).to(device=device, dtype=dtype)


def _degrees(x1: torch.Tensor, x2: torch.Tensor, backend: str) -> tuple[int, int]:
    _check_backend(backend)
    check_same_kind(("x1", x1), ("x2", x2))
    return lmax_of(x1, "x1"), lmax_of(x2, "x2")


def gaunt_bracket(x1: torch.Tensor, x2: torch.Tensor, lmax_out: int | None = None, backend: str = "grid") -> torch.Tensor:
    """Poisson bracket of ``x1: [..., (L1+1)**2]`` and ``x2: [..., (L2+1)**2]`` → ``[..., (lmax_out+1)**2]``.

    b_lm = ∫ {f1, f2} Y_lm dΩ; ``lmax_out`` defaults to L1 + L2 - 1, its largest valid value.
    Leading dimensions broadcast. Tables are built once per (degrees, backend, dtype, device).
    """
    lmax1, lmax2 = _degrees(x1, x2, backend)
    if lmax_out is None:
        lmax_out = max(lmax1 + lmax2 - 1, 0)
    _check_degrees(lmax1, lmax2, lmax_out)
    return _cached_bracket(lmax1, lmax2, lmax_out, backend, None, x1.dtype, x1.device)(x1, x2)


def gaunt_product_and_bracket(
    x1: torch.Tensor, x2: torch.Tensor, lmax_product: int | None = None, lmax_bracket: int | None = None,
    backend: str = "grid",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(:func:`gaunt_product`, :func:`gaunt_bracket`) of ``x1``, ``x2`` from one grid transform of each.

    ``lmax_product`` defaults to L1 + L2 and ``lmax_bracket`` to L1 + L2 - 1.
    """
    lmax1, lmax2 = _degrees(x1, x2, backend)
    lmax_product = lmax1 + lmax2 if lmax_product is None else lmax_product
    lmax_bracket = max(lmax1 + lmax2 - 1, 0) if lmax_bracket is None else lmax_bracket
    _check_degrees(lmax1, lmax2, lmax_bracket)
    if not 0 <= lmax_product <= lmax1 + lmax2:
        raise ValueError(f"lmax_product must be in [0, L1+L2] = [0, {lmax1 + lmax2}], got {lmax_product}")
    return _cached_bracket(lmax1, lmax2, lmax_bracket, backend, lmax_product, x1.dtype, x1.device)(x1, x2)
