"""Radial functions of the edge length: Bessel basis × smooth polynomial cutoff envelope, then an MLP."""

from __future__ import annotations

import math

import torch

from .linear import Dense


class RadialEmbedding(torch.nn.Module):
    """r: [E] (Å) → [E, num_basis] Bessel functions sin(nπr/r_max)/r · envelope(r/r_max).

    The envelope is the polynomial of DimeNet (degree p), which takes the basis and its first p-1
    derivatives smoothly to zero at r_max, so energies and forces are continuous at the cutoff.
    """

    def __init__(self, r_max: float, num_basis: int = 8, p: int = 5) -> None:
        super().__init__()
        self.r_max, self.p = float(r_max), p
        self.register_buffer("frequencies", math.pi / r_max * torch.arange(1, num_basis + 1, dtype=torch.float64))

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        p, x = self.p, r / self.r_max
        envelope = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
        envelope = envelope * (x < 1)
        bessel = math.sqrt(2.0 / self.r_max) * torch.sin(self.frequencies * r[:, None]) / r[:, None]
        return bessel * envelope[:, None]


def mlp(sizes: list[int]) -> torch.nn.Sequential:
    """:class:`Dense` layers with SiLU between them (none after the last), scaled so that activations
    keep unit second moment (1.679 is SiLU's normalising gain for unit-Gaussian inputs)."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(a, b, gain=1.679 if i > 0 else 1.0))
        if i < len(sizes) - 2:
            layers.append(torch.nn.SiLU())
    return torch.nn.Sequential(*layers)
