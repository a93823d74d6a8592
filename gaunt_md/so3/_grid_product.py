r"""Gaunt products and Poisson brackets on the grid as one fused, blocked autograd Function.

A call computes outputs that are sums of bilinear terms of its inputs, each term projected on
the sphere grid:

    out_o = Σ_terms ∫ T(x_p, x_q) Y dΩ,   T = x_p x_q ("product") or {x_p, x_q} ("bracket").

With G[p, q, r] = ∫ Y_p Y_q Y_r dΩ (symmetric) and K[p, q, r] = ∫ {Y_p, Y_q} Y_r dΩ (totally
antisymmetric: ∫ {f, g} h = ∫ {g, h} f, by parts), the derivatives are terms of the same kind,

    product (p, q) → o:  ∂/∂x_p = G(g_o, x_q),   ∂/∂x_q = G(g_o, x_p),
    bracket (p, q) → o:  ∂/∂x_p = K(x_q, g_o),   ∂/∂x_q = K(g_o, x_p),

each projected to the degree of the input it belongs to, and each integrand has the degree of
the term it comes from, so one grid integrates all of them exactly. The backward is therefore
this Function again: derivatives of every order are exact, and the derivatives for all inputs come
from one pass that samples each factor once.

Writing the backward out lets the forward save only its inputs (autograd would keep the grid
samples, ~(2L)² floats per vector, and stream them back from memory) and lets every pass run in
blocks of vectors small enough to stay in cache: on CPU a block holds ~1.5 MiB of grid samples.
On other devices the batch is one block.
"""

from __future__ import annotations

import torch

from ..blocking import blocked
from ..copies import copies_first
from ._grid import FromGrid, ToGrid, grid_shape

BLOCK_BYTES = 3 << 19  # grid samples per block on CPU: 1.5 MiB
PRODUCT, BRACKET = "product", "bracket"

# A spec: (degrees of the inputs, outputs); an output is (degree, terms), a term (kind, p, q) with
# p, q input positions. Example, the Gaunt product of two inputs: ((L1, L2), ((L3, (("product", 0, 1),)),)).
Spec = tuple[tuple[int, ...], tuple[tuple[int, tuple[tuple[str, int, int], ...]], ...]]


class GridBilinear(torch.nn.Module):
    """Transforms to and from one grid for a set of degrees; the grid integrates exactly every term
    whose three degrees (minus 1 for a bracket) add up to at most ``degree``."""

    def __init__(self, degrees: set[int], degree: int, gradient: bool = False) -> None:
        super().__init__()
        self.n_beta, self.n_alpha = grid_shape(degree, max(degrees))
        self.to_grid = torch.nn.ModuleDict(
            {str(l): ToGrid(l, self.n_beta, self.n_alpha, gradient=gradient) for l in sorted(degrees)}
        )
        self.from_grid = torch.nn.ModuleDict({str(l): FromGrid(l, self.n_beta, self.n_alpha) for l in sorted(degrees)})

    def block(self, x: torch.Tensor) -> int:
        """Vectors per block for inputs like ``x``."""
        if not blocked(x):
            return max(x.shape[0], 1)
        return max(1, BLOCK_BYTES // (self.n_beta * self.n_alpha * x.element_size()))


def fused(spec: Spec, grid: GridBilinear, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The outputs of ``spec``: inputs ``[B, (L_p+1)**2]`` → outputs ``[B, (L_o+1)**2]``."""
    return _Fused.apply(spec, grid, *inputs)


def fused_broadcast(spec: Spec, grid: GridBilinear, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """:func:`fused` for two inputs ``[..., (L_p+1)**2]`` whose leading dimensions broadcast to a
    non-empty shape: outputs ``[..., (L_o+1)**2]``."""
    lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
    rows = [x.expand(*lead, x.shape[-1]).reshape(lead.numel(), x.shape[-1]) for x in (x1, x2)]
    return tuple(out.view(*lead, out.shape[-1]) for out in fused(spec, grid, *rows))


def _field(terms, samples) -> torch.Tensor:
    """Σ of the terms' pointwise values; samples[p] = (f, ∂_α f, ∂_z f)."""
    field = None
    for kind, p, q in terms:
        (fp, ap, zp), (fq, aq, zq) = samples[p], samples[q]
        # {f, g} = ∂_α f ∂_z g - ∂_z f ∂_α g (z = cos β, in e3nn's frame; see _bracket)
        pairs = ((fp, fq, 1.0),) if kind == PRODUCT else ((ap, zq, 1.0), (zp, aq, -1.0))
        for u, v, sign in pairs:
            if field is None:
                field = torch.mul(u, v) if sign > 0 else torch.mul(u, v).neg_()
            else:
                field.addcmul_(u, v, value=sign)
    return field


class _Fused(torch.autograd.Function):
    @staticmethod
    def setup_context(ctx, inputs, output):
        spec, grid, *tensors = inputs
        ctx.save_for_backward(*tensors)
        ctx.spec, ctx.grid = spec, grid
        ctx.set_materialize_grads(False)  # an output nobody used gets None, and no terms

    @staticmethod
    def vmap(info, in_dims, spec, grid, *inputs):
        """K copies (a committee's members) of every input as K times the vectors: the products have
        no weights, so one call serves them all."""
        k = info.batch_size
        rows = [copies_first(x, d, k) for x, d in zip(inputs, in_dims[2:])]
        outs = _Fused.apply(spec, grid, *(x.reshape(-1, *x.shape[2:]) for x in rows))
        return tuple(o.view(k, -1, *o.shape[1:]) for o in outs), (0,) * len(outs)

    @staticmethod
    def forward(spec, grid, *inputs):
        degrees, outputs = spec
        terms = [t for _, ts in outputs for t in ts]
        values = {s for kind, p, q in terms if kind == PRODUCT for s in (p, q)}
        gradient = {s for kind, p, q in terms if kind == BRACKET for s in (p, q)}
        n = inputs[0].shape[0]
        outs = [inputs[0].new_empty(n, (l + 1) ** 2) for l, _ in outputs]
        step = grid.block(inputs[0])
        for s in range(0, n, step):
            samples = {
                p: grid.to_grid[str(degrees[p])].sample_rows(inputs[p][s : s + step], p in values, p in gradient)
                for p in values | gradient
            }
            for out, (l, ts) in zip(outs, outputs):
                grid.from_grid[str(l)].project_rows(_field(ts, samples), out[s : s + step])
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        inputs = ctx.saved_tensors
        degrees, outputs = ctx.spec
        extended, new_degrees, grad_outputs = list(inputs), list(degrees), []  # inputs, then the grads
        for (l, ts), g in zip(outputs, grads):
            if g is not None:
                extended.append(g)
                new_degrees.append(l)
                grad_outputs.append((len(extended) - 1, ts))
        new_outputs, wanted = [], []
        for s, need in enumerate(ctx.needs_input_grad[2:]):
            terms = []
            for go, ts in grad_outputs if need else ():
                for kind, p, q in ts:
                    if kind == PRODUCT:
                        terms += [(PRODUCT, go, q)] * (p == s) + [(PRODUCT, go, p)] * (q == s)
                    else:
                        terms += [(BRACKET, q, go)] * (p == s) + [(BRACKET, go, p)] * (q == s)
            if terms:
                wanted.append(s)
                new_outputs.append((degrees[s], tuple(terms)))
        result = [None] * len(inputs)
        if new_outputs:
            for s, g in zip(wanted, _Fused.apply((tuple(new_degrees), tuple(new_outputs)), ctx.grid, *extended)):
                result[s] = g
        return (None, None, *result)
