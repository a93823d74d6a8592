"""The one rule the vmap rules of gaunt-md's autograd Functions share (see ``gaunt_md.committee``).

Under ``torch.vmap`` over a committee's K members, a Function's ``vmap`` staticmethod receives its
inputs with the members' axis at ``in_dims`` (None for an input all members share); each rule puts
that axis first, then folds the K copies into one call of K times the rows.
"""

from __future__ import annotations

import torch


def copies_first(x: torch.Tensor, dim: int | None, k: int) -> torch.Tensor:
    """``x`` with its copies' axis ``dim`` moved to the front, or ``k`` views of a shared ``x``: [K, ...]."""
    return x.movedim(dim, 0) if dim is not None else x.expand(k, *x.shape)
