"""Channel mixing within each degree: the equivariant linear map on ``[N, (L+1)**2, channels]``."""

from __future__ import annotations

import math

import torch


class DegreeLinear(torch.nn.Module):
    """x: [N, (L+1)**2, c_in] → [N, (L+1)**2, c_out], one c_in × c_out matrix per degree l ≤ L.

    Mixing only channels of equal degree commutes with rotations (they act on the m index alone).
    """

    def __init__(self, c_in: int, c_out: int, lmax: int) -> None:
        super().__init__()
        self.lmax = lmax
        self.weight = torch.nn.Parameter(torch.randn(lmax + 1, c_in, c_out) / math.sqrt(c_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, c = x.shape
        blocks = [x[:, l * l : (l + 1) ** 2].reshape(-1, c) @ self.weight[l] for l in range(self.lmax + 1)]
        return torch.cat([b.view(n, -1, b.shape[-1]) for b in blocks], dim=1)
