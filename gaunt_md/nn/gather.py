"""Row gathers whose backward passes are gathers too, where autograd would use scatter-adds.

``gather_rows(x, index, table)`` returns ``x[index]``, where an index equal to ``len(x)`` gives a
zero row. Its adjoint sums rows: row r is the sum of the rows of v listed in ``table[r]`` (the
positions p with index[p] == r, padded with ``len(index)``). Each is the other's backward, so
derivatives of every order stay gathers. Build the table once per index with
:func:`inverse_table` (numpy, on the host). Used by the convolution (``convolution.py``) and the neighbour table
(``neighbours.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..copies import copies_first


def _take(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows ``index`` of x, zero where index == len(x); x is never copied whole."""
    n = x.shape[0]
    if n == 0:
        return x.new_zeros(index.shape[0], *x.shape[1:])
    out = x.index_select(0, index.clamp(max=n - 1))
    return out.masked_fill_((index >= n).view(-1, *[1] * (x.dim() - 1)), 0)  # shapes never depend on the data


class _GatherRows(torch.autograd.Function):
    @staticmethod
    def forward(x, index, table):
        return _take(x, index)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[1], inputs[2])

    @staticmethod
    def vmap(info, in_dims, x, index, table):
        """K copies of x (a committee's members) as one x of K times the rows."""
        x, index, table = _fold(info, (in_dims[0], in_dims[1], in_dims[2]), x, index, table)
        out = _GatherRows.apply(x, index, table)
        return out.view(info.batch_size, -1, *out.shape[1:]), 0

    @staticmethod
    def backward(ctx, grad):
        index, table = ctx.saved_tensors
        return _SumRows.apply(grad, table, index), None, None


class _SumRows(torch.autograd.Function):
    @staticmethod
    def forward(v, table, index):
        rows = _take(v, table.reshape(-1))
        if table.shape[1] == 1:  # a partial permutation: nothing to add up
            return rows
        return rows.view(*table.shape, *v.shape[1:]).sum(1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[2], inputs[1])

    @staticmethod
    def vmap(info, in_dims, v, table, index):
        v, index, table = _fold(info, (in_dims[0], in_dims[2], in_dims[1]), v, index, table)
        out = _SumRows.apply(v, table, index)
        return out.view(info.batch_size, -1, *out.shape[1:]), 0

    @staticmethod
    def backward(ctx, grad):
        index, table = ctx.saved_tensors
        return _GatherRows.apply(grad, index, table), None, None


def _fold(info, in_dims, x, index, table):
    """K copies (a committee's members) of x [R or P, ...] with one shared ``index`` [P] (rows of
    an [R, ...] tensor, R for a zero row) and its ``table`` [R, width] (positions in index, P for
    padding), as one problem of K times the size: x [K R or K P, ...], copy k's rows offset by k R in
    the index and its positions by k P in the table (the zero row K R, the padding K P)."""
    if in_dims[1] is not None or in_dims[2] is not None:
        raise NotImplementedError("the index and its table are shared by every copy")
    k = info.batch_size
    x = copies_first(x, in_dims[0], k)
    rows, n = table.shape[0], index.numel()
    copy = torch.arange(k, device=index.device)
    index = torch.where(index >= rows, k * rows, index + copy[:, None] * rows).reshape(-1)
    table = torch.where(table >= n, k * n, table + copy[:, None, None] * n).reshape(-1, table.shape[1])
    return x.reshape(-1, *x.shape[2:]), index, table


def gather_rows(x: torch.Tensor, index: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``x: [R, ...]`` → ``[len(index), ...]`` with rows ``index`` (R means a zero row)."""
    return _GatherRows.apply(x, index, table)


def inverse_table(index: np.ndarray, num_rows: int, width: int | None = None) -> np.ndarray:
    """``[num_rows, width]``: for each row r the positions p with index[p] == r, padded with
    ``len(index)``; entries of ``index`` ≥ num_rows (zero rows) are left out. ``width`` defaults to
    the largest count; a larger one pads every row (it must not be smaller). Built with numpy, on the
    host: a table is data for the model's graph, not part of it, and on a few hundred integers numpy's
    operators cost less than torch's (docs/performance.md, "Around the graph")."""
    index = np.asarray(index)
    valid = np.flatnonzero(index < num_rows)
    target = index[valid]
    counts = np.bincount(target, minlength=num_rows)
    largest = int(counts.max()) if target.size else 0
    if width is not None and width < largest:
        raise ValueError(f"table width {width} is smaller than the largest count {largest}")
    width = max(largest, 1) if width is None else width
    order = np.argsort(target, kind="stable")
    start = np.cumsum(counts) - counts
    rank = np.arange(target.size) - start[target[order]]
    table = np.full(num_rows * width, index.size, dtype=np.int64)
    table[target[order] * width + rank] = valid[order]
    return table.reshape(num_rows, width)
