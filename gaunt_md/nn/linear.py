"""Linear maps in the normalised parameterisation of e3nn: weights ~ N(0, 1), multiplied by
gain/sqrt(fan_in) in the forward pass. The function at initialisation is that of a standard
``torch.nn.Linear`` with the same variance, but an Adam step moves the output sqrt(fan_in) times less,
so one learning rate suits every width (without it, a 128-channel readout jumps by ~0.5 eV/atom per
step at lr 0.01). A model rewritten for inference carries the factor in its weights (``norm`` 1)."""

from __future__ import annotations

import math

import torch


class DegreeLinear(torch.nn.Module):
    """x: [N, (L+1)**2, c_in] → [N, (L+1)**2, c_out], one c_in × c_out matrix per degree l ≤ L.

    Mixing only channels of equal degree commutes with rotations (they act on the m index alone).
    ``mixed`` (L + 1 unless :meth:`GauntForceField.for_inference` lowers it) is the number of leading
    degrees it mixes; the degrees after them arrive mixed already (their matrix folded into the map
    that made them) and pass through.
    """

    def __init__(self, c_in: int, c_out: int, lmax: int) -> None:
        super().__init__()
        self.lmax, self.mixed = lmax, lmax + 1
        self.weight = torch.nn.Parameter(torch.randn(lmax + 1, c_in, c_out))
        self.norm = 1.0 / math.sqrt(c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, c = x.shape
        weight = self.weight if self.norm == 1.0 else self.weight * self.norm
        blocks = [x[:, l * l : (l + 1) ** 2].reshape(-1, c) @ weight[l] for l in range(self.mixed)]
        blocks = [b.view(n, -1, b.shape[-1]) for b in blocks]
        if self.mixed <= self.lmax:
            blocks.append(x[:, self.mixed**2 :])
        return torch.cat(blocks, dim=1)


class Dense(torch.nn.Module):
    """x: [..., c_in] → [..., c_out], no bias; ``gain`` keeps unit second moment after an activation."""

    def __init__(self, c_in: int, c_out: int, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(c_in, c_out))
        self.norm = gain / math.sqrt(c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ (self.weight if self.norm == 1.0 else self.weight * self.norm)
