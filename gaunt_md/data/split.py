"""The validation split of ``gaunt-md fit``: the one rule that the fit, the model cards and the tests share."""

from __future__ import annotations

import numpy as np


def validation_split(n_frames: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(validation indices, training indices) of ``n_frames`` frames: a seeded permutation, of which
    the first round(fraction · n_frames) (at least 1) are held out for validation."""
    if not 0 < fraction < 1:
        raise ValueError(f"valid_fraction must be in (0, 1), got {fraction}")
    n_valid = max(1, int(round(fraction * n_frames)))
    if n_valid >= n_frames:
        raise ValueError(f"{n_frames} frames are too few to hold out a validation split of {fraction:g}")
    order = np.random.default_rng(seed).permutation(n_frames).tolist()
    return order[:n_valid], order[n_valid:]
