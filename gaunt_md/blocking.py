"""When the CPU passes of the model work in cache-sized blocks: eagerly yes, in a traced graph no.

Eagerly, the neighbour sum (``nn/neighbour_sum.py``) and the grid passes (``so3/_grid.py``,
``so3/_grid_product.py``) walk their largest tensors in blocks of about 1.5 MB that stay in cache.
In a graph traced for inductor (``gaunt_md.compiled``, ``gaunt_md.train.step``) the same loop
becomes one slice copy per block and a concatenation that tests every block for every element, so
its work grows with the square of the block count (``docs/performance.md``, "Blocks in compiled
graphs"). Traced graphs therefore take whole tensors.
"""

from __future__ import annotations

import contextlib
import contextvars

import torch

_WHOLE = contextvars.ContextVar("gaunt_md_whole_tensors", default=False)


def blocked(x: torch.Tensor) -> bool:
    """Whether passes over tensors like ``x`` run in blocks: on CPU, outside :func:`whole_tensors`."""
    return x.device.type == "cpu" and not _WHOLE.get()


@contextlib.contextmanager
def whole_tensors():
    """Within this context every pass takes its tensors whole (for tracing graphs that inductor compiles)."""
    token = _WHOLE.set(True)
    try:
        yield
    finally:
        _WHOLE.reset(token)
