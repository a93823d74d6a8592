"""Gaunt convolution: neighbour features times the edge filter R(r) Y(r̂), summed over neighbours."""

from __future__ import annotations

import math

import torch

from ..so3 import gaunt_tensor
from .gather import gather_rows
from .neighbour_sum import neighbour_sum
from .neighbours import NeighbourTable
from .radial import RadialMLP, RadialTable


class GauntConvolution(torch.nn.Module):
    """A_i = (1 / avg_num_neighbors) Σ_j Gaunt(h_j, F_ij), truncated at degree ``lmax``.

    The filter F_ij,c = Σ_l R_g(c),l(r_ij) Y_l(r̂_ij) has radial functions ``self.radial`` of the
    edge length, one per degree and per radial group g (``radial_groups`` groups of channels): an
    MLP of a Bessel basis (:class:`RadialMLP`), or its table (:class:`RadialTable`, see
    :meth:`GauntForceField.for_inference`). With ``radial_by_input`` the radial functions also
    depend on the degree k of the input feature they multiply, R_g,k,l (one per pair of degrees, as
    MACE weighs each path of its tensor product): the neighbour sum then runs once per input degree.
    The product is bilinear, so the neighbour sum is taken first, per atom and on channel-free
    edge data, and the Gaunt coefficients are applied once per atom:

        D_i,k,lm,c = Σ_j h_j,k,c R_ij,g(c),l Y_lm(r̂_ij)      (:func:`neighbour_sum`, blocked)
        A_i,o,c    = Σ_k,lm G(k; lm; o) D_i,k,lm,c           (one matmul per atom and radial group)

    No tensor of size edges × channels × (lmax+1)**2 is formed.

    h: [N, (lmax_in+1)**2, C]; lengths: [E] edge lengths (Å); y: [E, (lmax+1)**2],
    the spherical harmonics of the edge directions (center → neighbour). Returns [N, (lmax+1)**2, C].
    """

    def __init__(
        self,
        channels: int,
        lmax_in: int,
        lmax: int,
        r_max: float,
        num_basis: int,
        radial_hidden: int,
        radial_groups: int,
        radial_by_input: bool = False,
    ) -> None:
        super().__init__()
        self.channels, self.lmax_in, self.lmax, self.groups = channels, lmax_in, lmax, radial_groups
        self.inputs = lmax_in + 1 if radial_by_input else 1  # sets of radial functions, one per input degree
        # the input coefficients each set multiplies: all of them, or those of one degree
        self.blocks = (
            [(l * l, (l + 1) ** 2) for l in range(lmax_in + 1)] if radial_by_input else [(0, (lmax_in + 1) ** 2)]
        )
        self.radial: RadialMLP | RadialTable = RadialMLP(
            r_max, num_basis, radial_hidden, radial_groups * self.inputs * (lmax + 1)
        )
        g = gaunt_tensor(lmax_in, lmax, lmax)  # [K, lm, o]
        g = g.permute(2, 1, 0) * self.output_norm(lmax_in, lmax)[:, None, None]  # [o, lm, K]
        # columns in the order of the neighbour sum's output: per block of input degrees, (lm, K within the block)
        g = torch.cat([g[:, :, k0:k1].reshape(g.shape[0], -1) for k0, k1 in self.blocks], dim=1)
        self.register_buffer("gaunt", g.contiguous(), persistent=False)
        # [lmax+1, (lmax+1)**2]: 1 where degree l owns coefficient lm, so R @ repeat gives R_l for every lm
        degree = torch.tensor([l for l in range(lmax + 1) for _ in range(2 * l + 1)])
        self.register_buffer("repeat", (torch.arange(lmax + 1)[:, None] == degree).double(), persistent=False)

    @staticmethod
    def output_norm(lmax_in: int, lmax: int) -> torch.Tensor:
        """[(lmax+1)**2] factors that give A unit variance per coefficient at initialisation: for unit
        h, unit radial functions and unit (component-normalised, ×√(4π)) spherical harmonics, each
        output row of the Gaunt contraction divided by its norm."""
        g = gaunt_tensor(lmax_in, lmax, lmax)
        return math.sqrt(4 * math.pi) / g.pow(2).sum(dim=(0, 1)).sqrt()

    def forward(
        self, h: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor, table: NeighbourTable, avg_num_neighbors: float
    ) -> torch.Tensor:
        radial = self.radial(lengths)  # [E, G (inputs) (lmax+1)]
        n, k, c = h.shape
        g, w, f = self.groups, table.width, self.repeat.shape[1]
        phi = (radial.view(-1, self.lmax + 1) @ self.repeat).view(-1, g, self.inputs, f) * y[:, None, None, :]
        parts = []
        for b, (k0, k1) in enumerate(self.blocks):
            phi_b = gather_rows(phi[:, :, b].reshape(-1, f), table.edge, table.edge_table)  # [N G w, f]
            hb = h[:, k0:k1].reshape(n, k1 - k0, g, c // g).transpose(1, 2).reshape(n * g, -1)  # rows (atom, group)
            d = neighbour_sum(phi_b, hb, table.neighbour, w)  # [N G, f, Kb C/G]
            parts.append(d.view(n * g, f * (k1 - k0), c // g))
        d = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)  # [N G, (block, lm, k), C/G]
        # contracted per row (atom, group), so that only the output, 16-64x smaller than d, changes layout
        a = torch.matmul(self.gaunt, d).view(n, g, -1, c // g).transpose(1, 2).reshape(n, -1, c)
        return a / avg_num_neighbors
