r"""The grid backend of the Gaunt product as one fused, blocked autograd Function.

With G[p, q, r] = ∫ Y_p Y_q Y_r dΩ, the product c = G(a, b) is bilinear and G is symmetric in its
three indices, so its derivatives are Gaunt products too:

    ∂L/∂a = G(∂L/∂c, b),    ∂L/∂b = G(∂L/∂c, a),

each projected to the degree of the input it belongs to. One Gauss-Legendre × uniform grid
integrates all three exactly (the integrand has degree L1 + L2 + L3 whichever role each factor
plays), so :class:`GridTriple` holds a ``ToGrid`` and a ``FromGrid`` for each of the three degrees on
that grid, and the backward of the product is written with the product itself: derivatives of
every order are exact and cost a product each.

Writing the backward out lets the forward save only its inputs (autograd would keep the grid
samples, ~(2L)² floats per vector, and stream them back from memory) and lets every pass run in
blocks of vectors small enough to stay in cache: on CPU the transforms are small matrix products
whose speed is set by memory traffic, and a block of ~1.5 MiB of grid samples runs them 2-3x faster
than the whole batch at once. On other devices the batch is one block.
"""

from __future__ import annotations

import torch

from ._grid import FromGrid, ToGrid, grid_shape

BLOCK_BYTES = 3 << 19  # grid samples per block on CPU: 1.5 MiB


class GridTriple(torch.nn.Module):
    """Transforms to and from the grid for degrees (L1, L2, L3) on the smallest grid that integrates
    any product of three of them exactly."""

    def __init__(self, lmax1: int, lmax2: int, lmax3: int) -> None:
        super().__init__()
        self.degrees = (lmax1, lmax2, lmax3)
        self.n_beta, self.n_alpha = grid_shape(lmax1 + lmax2 + lmax3, max(self.degrees))
        self.to_grid = torch.nn.ModuleList(ToGrid(l, self.n_beta, self.n_alpha) for l in self.degrees)
        self.from_grid = torch.nn.ModuleList(FromGrid(l, self.n_beta, self.n_alpha) for l in self.degrees)

    def block(self, x: torch.Tensor) -> int:
        """Vectors per block for inputs like ``x``."""
        if x.device.type != "cpu":
            return max(x.shape[0], 1)
        return max(1, BLOCK_BYTES // (self.n_beta * self.n_alpha * x.element_size()))


def grid_product(a: torch.Tensor, b: torch.Tensor, triple: GridTriple, roles: tuple[int, int, int] = (0, 1, 2)) -> torch.Tensor:
    """G(a, b) projected to degree ``triple.degrees[roles[2]]``.

    ``a: [B, (L_i+1)**2]``, ``b: [B, (L_j+1)**2]`` with (i, j, k) = ``roles`` → ``[B, (L_k+1)**2]``.
    """
    return _Product.apply(a, b, triple, roles)


class _Product(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, triple, roles):
        ctx.save_for_backward(a, b)
        ctx.triple, ctx.roles = triple, roles
        i, j, k = roles
        to_a, to_b, project = triple.to_grid[i], triple.to_grid[j], triple.from_grid[k]
        out = a.new_empty(a.shape[0], (triple.degrees[k] + 1) ** 2)
        step = triple.block(a)
        for s in range(0, a.shape[0], step):
            project.project_rows(to_a.sample_rows(a[s:s + step]) * to_b.sample_rows(b[s:s + step]), out[s:s + step])
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        triple, (i, j, k) = ctx.triple, ctx.roles
        need_a, need_b = ctx.needs_input_grad[:2]
        if need_a and need_b:
            grad_a, grad_b = _ProductGrads.apply(grad, a, b, triple, ctx.roles)
        else:
            grad_a = _Product.apply(grad, b, triple, (k, j, i)) if need_a else None
            grad_b = _Product.apply(grad, a, triple, (k, i, j)) if need_b else None
        return grad_a, grad_b, None, None


class _ProductGrads(torch.autograd.Function):
    """(G(g, b) → degree i, G(g, a) → degree j) in one pass: g is sampled once per block."""

    @staticmethod
    def forward(ctx, grad, a, b, triple, roles):
        ctx.save_for_backward(grad, a, b)
        ctx.triple, ctx.roles = triple, roles
        i, j, k = roles
        to, project = triple.to_grid, triple.from_grid
        grad_a, grad_b = torch.empty_like(a), torch.empty_like(b)
        step = triple.block(a)
        for s in range(0, a.shape[0], step):
            g = to[k].sample_rows(grad[s:s + step])
            project[i].project_rows(g * to[j].sample_rows(b[s:s + step]), grad_a[s:s + step])
            project[j].project_rows(g * to[i].sample_rows(a[s:s + step]), grad_b[s:s + step])
        return grad_a, grad_b

    @staticmethod
    def backward(ctx, grad_grad_a, grad_grad_b):
        grad, a, b = ctx.saved_tensors
        triple, (i, j, k) = ctx.triple, ctx.roles
        d_grad = d_a = d_b = None
        if grad_grad_a is not None:
            d_grad = _Product.apply(grad_grad_a, b, triple, (i, j, k))
            d_b = _Product.apply(grad, grad_grad_a, triple, (k, i, j))
        if grad_grad_b is not None:
            term = _Product.apply(grad_grad_b, a, triple, (j, i, k))
            d_grad = term if d_grad is None else d_grad + term
            d_a = _Product.apply(grad, grad_grad_b, triple, (k, j, i))
        return d_grad, d_a, d_b, None, None
