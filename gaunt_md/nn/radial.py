"""Radial functions of the edge length: Bessel basis × smooth polynomial cutoff envelope, then an MLP."""

from __future__ import annotations

import math
import warnings

import torch

from ..copies import copies_first
from .linear import Dense


class RadialEmbedding(torch.nn.Module):
    """r: [E] (Å) → [E, num_basis] Bessel functions sin(nπr/r_max)/r · envelope(r/r_max).

    The envelope is the polynomial of DimeNet (degree p), which takes the basis and its first p-1
    derivatives smoothly to zero at r_max, so energies and forces are continuous at the cutoff.
    The basis is scaled to half of unit RMS over neighbours uniform in the ball of radius r_max
    (``norm``, a constant of r_max and num_basis). With the convolution's normalisation a default
    model then starts with forces of the data's order (acac: 2.1 vs 1.05 eV/Å RMS, in units of
    ``scale``; ``benchmarks/init_scale.py``); with the basis at unit RMS they started 10x larger,
    and without either normalisation 100x smaller, which the first epochs spend correcting
    (``docs/accuracy.md``, "Initialisation and the many-body product").
    """

    def __init__(self, r_max: float, num_basis: int = 8, p: int = 5) -> None:
        super().__init__()
        self.r_max, self.p = float(r_max), p
        # saved with the weights: a model trained in float32 keeps the float32 frequencies it learned with
        self.register_buffer("frequencies", math.pi / r_max * torch.arange(1, num_basis + 1, dtype=torch.float64))
        self.norm = 1.0
        r = (torch.arange(20000, dtype=torch.float64) + 0.5) * (self.r_max / 20000)  # midpoints; density 3 r²/r_max³
        self.norm = 0.5 / float(self(r).pow(2).mul(3 * (r / self.r_max).pow(2)[:, None]).mean().sqrt())

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        p, x = self.p, r / self.r_max
        envelope = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
        envelope = envelope * (x < 1)
        bessel = math.sqrt(2.0 / self.r_max) * torch.sin(self.frequencies * r[:, None]) / r[:, None]
        return bessel * (envelope * self.norm)[:, None]


def mlp(sizes: list[int]) -> torch.nn.Sequential:
    """:class:`Dense` layers with SiLU between them (none after the last), scaled so that activations
    keep unit second moment (1.679 is SiLU's normalising gain for unit-Gaussian inputs)."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(a, b, gain=1.679 if i > 0 else 1.0))
        if i < len(sizes) - 2:
            layers.append(torch.nn.SiLU())
    return torch.nn.Sequential(*layers)


class RadialMLP(torch.nn.Module):
    """R: r (Å) → [E, out], an MLP of the Bessel basis of the edge length (``embedding``, then ``mlp``)."""

    def __init__(self, r_max: float, num_basis: int, hidden: int, out: int) -> None:
        super().__init__()
        self.embedding = RadialEmbedding(r_max, num_basis)
        self.mlp = mlp([num_basis, hidden, hidden, hidden, out])

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.embedding(r))


class RadialTable(torch.nn.Module):
    """A radial function R: r (Å) → [E, out] of the edge length, stored as a cubic Hermite table.

    Built from values and exact derivatives of ``fn`` (forward-mode autodiff, float64) at
    ``intervals + 1`` equally spaced lengths in [0, r_max]; between them R is the cubic with those
    values and slopes. For inference: an MLP of the radial basis costs a few matmuls and activations
    per edge, its table two row gathers and a cubic. The error falls as intervals^-4: at 4096
    intervals over 5 Å (gaunt-water, 192 atoms, float64) energies move by 8e-10 of the interaction
    energy and forces by 1e-8 eV/Å, and forces stay exact derivatives of the (tabulated) energy.
    """

    def __init__(self, fn, r_max: float, intervals: int = 4096) -> None:
        super().__init__()
        self.intervals, self.step = intervals, float(r_max) / intervals
        knots = torch.linspace(0.0, float(r_max), intervals + 1, dtype=torch.float64).clamp(
            min=1e-6
        )  # R is finite at 0
        with torch.no_grad(), torch.autograd.forward_ad.dual_level(), warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", DeprecationWarning
            )  # torch's first forward-mode call scripts its decompositions
            dual = torch.autograd.forward_ad.make_dual(knots, torch.ones_like(knots))
            values, slopes = torch.autograd.forward_ad.unpack_dual(fn(dual))
        y, m = values, slopes * self.step  # the cubic of interval k in t = r/h - k: y_k + m_k t + c2 t² + c3 t³
        c2 = 3 * (y[1:] - y[:-1]) - 2 * m[:-1] - m[1:]
        c3 = 2 * (y[:-1] - y[1:]) + m[:-1] + m[1:]
        self.register_buffer(
            "coefficients", torch.stack([y[:-1], m[:-1], c2, c3], dim=1), persistent=False
        )  # [K, 4, out]

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x = r / self.step
        k = x.detach().floor().clamp(0, self.intervals - 1)
        t = (x - k)[:, None]
        c0, c1, c2, c3 = _Rows.apply(self.coefficients, k.long()).unbind(1)
        return torch.addcmul(c0, t, torch.addcmul(c1, t, torch.addcmul(c2, t, c3)))


class _Rows(torch.autograd.Function):
    """``table[index]`` for a constant table (no gradient), whose vmap rule folds K tables (a
    committee's members) into one lookup instead of a gather of K expanded indices."""

    @staticmethod
    def forward(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return table.index_select(0, index)

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad):
        return None, None

    @staticmethod
    def vmap(info, in_dims, table, index):
        k = info.batch_size
        table, index = copies_first(table, in_dims[0], k), copies_first(index, in_dims[1], k)
        offset = torch.arange(k, device=index.device)[:, None] * table.shape[1]
        rows = table.reshape(-1, *table.shape[2:]).index_select(0, (index + offset).reshape(-1))
        return rows.view(k, -1, *rows.shape[1:]), 0
