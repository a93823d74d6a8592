"""Gaunt convolution: neighbour features times the edge filter R(r) Y(r̂), summed over neighbours."""

from __future__ import annotations

import torch

from ..so3 import bracket_tensor, gaunt_tensor
from ..so3._rows import gather_rows
from .neighbours import NeighbourTable
from .radial import mlp


class GauntConvolution(torch.nn.Module):
    """A_i = (1 / avg_num_neighbors) Σ_j Gaunt(h_j, F_ij), truncated at degree ``lmax``.

    The filter F_ij,c = Σ_l R_g(c),l(r_ij) Y_l(r̂_ij) has radial functions from an MLP of the
    radial basis, one per degree and per radial group g (``radial_groups`` groups of channels).
    The product is bilinear, so the neighbour sum is taken first, per atom and on channel-free
    edge data, and the Gaunt coefficients are applied once per atom:

        D_i,k,lm,c = Σ_j h_j,k,c R_ij,g(c),l Y_lm(r̂_ij)      (one batched matmul per atom)
        A_i,o,c    = Σ_k,lm G(k; lm; o) D_i,k,lm,c           (one matmul per atom)

    No tensor of size edges × channels × (lmax+1)**2 is formed.

    With ``pseudo``, the Gaunt bracket {h_j, F_ij} (the odd paths, see ``so3._bracket``) is
    contracted from the same D, so the layer also returns pseudo-tensor features (parity
    (-1)^(l+1)), and pseudo inputs hp enter as A += bracket(hp, F), Ap += Gaunt(hp, F).

    h: [N, (lmax_in+1)**2, C]; radial: [E, num_basis]; y: [E, (lmax+1)**2], the spherical harmonics
    of the edge directions (center → neighbour). Returns A: [N, (lmax+1)**2, C], and with
    ``pseudo`` the pair (A, Ap), Ap None while it vanishes (scalar input, no hp: {const, F} = 0).
    """

    def __init__(self, channels: int, lmax_in: int, lmax: int, num_basis: int, radial_hidden: int, radial_groups: int,
                 pseudo: bool = False) -> None:
        super().__init__()
        if channels % radial_groups:
            raise ValueError(f"channels ({channels}) must be a multiple of radial_groups ({radial_groups})")
        self.channels, self.lmax_in, self.lmax, self.groups = channels, lmax_in, lmax, radial_groups
        self.radial = mlp([num_basis, radial_hidden, radial_hidden, radial_hidden, radial_groups * (lmax + 1)])
        g = gaunt_tensor(lmax_in, lmax, lmax)  # [K, lm, o]
        self.register_buffer("gaunt", g.reshape(-1, g.shape[2]).t().contiguous(), persistent=False)
        self.pseudo = pseudo
        if pseudo:
            b = bracket_tensor(lmax_in, lmax, lmax) if lmax_in + lmax > 0 else torch.zeros_like(g)
            self.register_buffer("bracket", b.reshape(-1, b.shape[2]).t().contiguous(), persistent=False)

    def forward(self, h: torch.Tensor, radial: torch.Tensor, y: torch.Tensor, table: NeighbourTable, avg_num_neighbors: float,
                hp: torch.Tensor | None = None):
        n, k, c = h.shape
        g, w = self.groups, table.width
        r = self.radial(radial).view(-1, g, self.lmax + 1)
        phi = torch.cat([r[:, :, l : l + 1] * y[:, None, l * l : (l + 1) ** 2] for l in range(self.lmax + 1)], dim=2)
        phi = gather_rows(phi.reshape(-1, phi.shape[2]), table.edge, table.edge_table).view(n, g, w, -1)  # [N, G, w, f]
        phi_t = phi.transpose(2, 3)

        def density(x: torch.Tensor) -> torch.Tensor:  # D: [N, (k lm), C]
            xg = x.view(n, k, g, c // g).transpose(1, 2).reshape(n * g, k * (c // g))  # rows (atom, group)
            xn = gather_rows(xg, table.neighbour, table.neighbour_table).view(n, g, w, -1)  # [N, G, w, K C/G]
            d = torch.matmul(phi_t, xn)  # [N, G, f, K C/G]
            return d.view(n, g, -1, k, c // g).permute(0, 3, 2, 1, 4).reshape(n, -1, c)

        d = density(h)
        a = torch.matmul(self.gaunt, d) / avg_num_neighbors
        if not self.pseudo:
            return a
        if hp is None:
            return a, (torch.matmul(self.bracket, d) / avg_num_neighbors if k > 1 else None)
        dp = density(hp)
        return a + torch.matmul(self.bracket, dp) / avg_num_neighbors, torch.matmul(self.bracket, d).add_(torch.matmul(self.gaunt, dp)) / avg_num_neighbors
