r"""The convolution's neighbour sum as one blocked autograd Function.

With neighbour slots s = (row i, position) of a table of ``width`` slots per row, the sum

    D[i, f, c] = Σ_{s in row i} φ[s, f] h[nb(s), c]

is one term of the trilinear form T(φ, h, g) = Σ_s Σ_f Σ_c φ[s, f] h[nb(s), c] g[row(s), f, c].
Its derivatives are the other two contractions of T, and theirs are again contractions of T:

    "sum"     (φ, h) → D[i, f, c]    = Σ_s∈i φ[s, f] h[nb(s), c]
    "filter"  (h, g) → P[s, f]       = Σ_c h[nb(s), c] g[row(s), f, c]
    "scatter" (φ, g) → H[j, c]       = Σ_{s: nb(s)=j} Σ_f φ[s, f] g[row(s), f, c]

so the backward is this Function again and derivatives of every order are exact (training
differentiates the forces). Written out, no pass keeps the per-slot neighbour features h[nb(s)]
(slots × channels, the largest tensor of the model): each pass gathers them block by block, a
block of ~1.5 MiB that stays in cache, and the scatter adds each block's rows into its output.
On other devices, and in traced graphs (``gaunt_md.blocking``), the whole table is one block.
"""

from __future__ import annotations

import torch

from ..blocking import blocked
from ..copies import copies_first

BLOCK_BYTES = 3 << 19  # gathered neighbour features per block on CPU: 1.5 MiB
SUM, FILTER, SCATTER = "sum", "filter", "scatter"


def neighbour_sum(phi: torch.Tensor, h: torch.Tensor, neighbour: torch.Tensor, width: int) -> torch.Tensor:
    """D[i] = Σ_{slots s of row i} φ[s]ᵀ h[neighbour[s]].

    phi: [R·width, F] per-slot filters (zero in empty slots); h: [R, C] per-row features;
    neighbour: [R·width] the row of h each slot reads (R for an empty slot). Returns [R, F, C].
    """
    return _Trilinear.apply(SUM, phi, h, neighbour, width)


class _Trilinear(torch.autograd.Function):
    @staticmethod
    def forward(mode: str, a: torch.Tensor, b: torch.Tensor, neighbour: torch.Tensor, width: int) -> torch.Tensor:
        return _contract(mode, a, b, neighbour, width)

    @staticmethod
    def setup_context(ctx, inputs, output):
        mode, a, b, neighbour, width = inputs
        ctx.mode, ctx.width = mode, width
        ctx.save_for_backward(a, b, neighbour)

    @staticmethod
    def vmap(info, in_dims, mode, a, b, neighbour, width):
        """K copies (a committee's members) as one table of K times the rows: copy k's rows are
        offset by k·R, and its empty slots point at the one empty row K·R."""
        if in_dims[3] is not None:
            raise NotImplementedError("the neighbour table is shared by every copy")
        k = info.batch_size
        a, b = copies_first(a, in_dims[1], k), copies_first(b, in_dims[2], k)
        rows = neighbour.shape[0] // width
        offset = torch.arange(k, device=neighbour.device)[:, None] * rows
        folded = torch.where(neighbour == rows, k * rows, neighbour + offset).reshape(-1)
        out = _Trilinear.apply(mode, a.reshape(-1, *a.shape[2:]), b.reshape(-1, *b.shape[2:]), folded, width)
        return out.view(k, -1, *out.shape[1:]), 0

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, b, neighbour = ctx.saved_tensors
        mode, width = ctx.mode, ctx.width
        # the mode that yields each input's derivative, and the two arguments it takes
        if mode == SUM:  # a = φ, b = h, grad ~ g
            rules = ((FILTER, b, grad), (SCATTER, a, grad))
        elif mode == FILTER:  # a = h, b = g, grad ~ φ
            rules = ((SCATTER, grad, b), (SUM, grad, a))
        else:  # SCATTER: a = φ, b = g, grad ~ h
            rules = ((FILTER, grad, b), (SUM, a, grad))
        grads = [
            _Trilinear.apply(m, x, y, neighbour, width) if ctx.needs_input_grad[k + 1] else None
            for k, (m, x, y) in enumerate(rules)
        ]
        return None, *grads, None, None


def _rows_per_block(width: int, channels: int, like: torch.Tensor) -> int:
    if not blocked(like):
        return 1 << 62
    return max(1, BLOCK_BYTES // (width * max(channels, 1) * like.element_size()))


def _contract(mode: str, a: torch.Tensor, b: torch.Tensor, neighbour: torch.Tensor, width: int) -> torch.Tensor:
    rows = neighbour.shape[0] // width
    if mode == SCATTER:
        phi, g = a, b
        out = g.new_zeros(rows + 1, g.shape[2])  # the last row collects the empty slots
        step = _rows_per_block(width, g.shape[2], g)
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            v = torch.bmm(phi[r0 * width : r1 * width].view(r1 - r0, width, -1), g[r0:r1]).view(-1, g.shape[2])
            # scatter_add_, not index_add_: inductor compiles index_add_ into atomic adds on several
            # threads (a quarter of a 192-atom compiled call), and scatter_add_ into ATen's sorted kernel
            out.scatter_add_(0, neighbour[r0 * width : r1 * width, None].expand_as(v), v)
        return out[:rows]
    h = b if mode == SUM else a
    padded = torch.cat([h, h.new_zeros(1, h.shape[1])])  # empty slots read a zero row
    step = _rows_per_block(width, h.shape[1], h)
    if mode == SUM:
        phi = a
        out = h.new_empty(rows, phi.shape[1], h.shape[1])
    else:
        g = b
        out = h.new_empty(rows * width, g.shape[1])
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        hn = padded.index_select(0, neighbour[r0 * width : r1 * width]).view(r1 - r0, width, -1)  # [b, w, C]
        if mode == SUM:
            torch.bmm(phi[r0 * width : r1 * width].view(r1 - r0, width, -1).transpose(1, 2), hn, out=out[r0:r1])
        else:
            torch.bmm(hn, g[r0:r1].transpose(1, 2), out=out[r0 * width : r1 * width].view(r1 - r0, width, -1))
    return out
