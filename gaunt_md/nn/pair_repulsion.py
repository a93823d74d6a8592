"""Ziegler-Biersack-Littmark (ZBL) screened nuclear repulsion, switched off before bonding distances.

A fixed pair prior that keeps two atoms from collapsing onto each other where the training data never
went. For atoms i, j with atomic numbers Z_i, Z_j at distance r (Å), the energy (eV) is

    E_ij(r) = k_e Z_i Z_j / r · φ(r / a_ij) · s(r),
    φ(x) = 0.18175 e^(-3.19980 x) + 0.50986 e^(-0.94229 x) + 0.28022 e^(-0.40290 x) + 0.02817 e^(-0.20162 x),
    a_ij = 0.46850 Å / (Z_i^0.23 + Z_j^0.23),

with k_e = e²/(4πε0) = E_h a_0 = 14.399645 eV·Å, the universal screening function φ and screening
length a_ij of J. F. Ziegler, J. P. Biersack and U. Littmark, *The Stopping and Range of Ions in
Solids* (Pergamon, New York, 1985).

The switch s(r) = 1 - (10t³ - 15t⁴ + 6t⁵), t = (r - r_on) / (r_off - r_on) clamped to [0, 1], is 1
below r_on and 0 above r_off, with continuous value, first and second derivative at both ends:
r_on = 0.5 b_ij and r_off = 0.75 b_ij, with b_ij the sum of the covalent radii
(``ase.data.covalent_radii``); both are scaled down together where r_off would pass the model's
cutoff, so that every pair the prior reaches is an edge of the graph, or 1% short of the closest
approach of that pair of elements in the training data (``ModelConfig.closest_pairs``, set by
``gaunt-md fit``), so that the prior is zero on every labelled structure. Molecules stay beyond
0.75 b (C=O at 600 K: 0.80 b); hot metals do not (mlearn Mo: 0.61 b, where 0.75 b would add up to
42 eV/Å to a training frame for the network to cancel; docs/accuracy.md, "Closest pairs in the data").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from ase import units
from ase.data import atomic_numbers, covalent_radii

from ..data.pairs import pair_name

COULOMB = units.Hartree * units.Bohr  # e²/(4πε0) in eV·Å
SCREENING_LENGTH = 0.46850  # Å: 0.8854 a_0, the ZBL universal screening length
SCREENING_EXPONENT = 0.23
SCREENING_COEFFICIENTS = (0.18175, 0.50986, 0.28022, 0.02817)
SCREENING_DECAYS = (3.19980, 0.94229, 0.40290, 0.20162)
# Zero from 0.75 b on: the shortest chemical bonds (triple bonds: C≡C 1.20 Å, N≡N 1.10 Å) are ~0.77 b
# and the closest pairs in our molecular training sets (acac at 600 K, C=O) 0.80 b, so the prior
# adds nothing to any structure of those data and the network learns exactly what it learned without
# it. (Switched off at b itself, as MACE's ZBL is, it added forces of up to 13 eV/Å to the first acac
# training frame, whose C=O and C=C bonds are 0.86 b and 0.88 b, for the network to cancel.) Full
# strength below 0.5 b, where no molecule goes: there the wall is tens of eV high (C-C at 0.5 b: 37 eV).
INNER_FRACTION, OUTER_FRACTION = 0.5, 0.75
# Where the data comes closer, r_off ends 1% short of its closest pair: float32 rounding of a length
# (1e-7 relative) then cannot bring a labelled pair into the switch, and the prior is exactly zero there.
DATA_MARGIN = 0.99


class ZBLRepulsion(torch.nn.Module):
    """Switched ZBL pair energy of the edges of a neighbour graph.

    Args:
        elements: atomic numbers; species index k of the model means element ``elements[k]``.
        r_max: the model's cutoff (Å); r_off is capped at it.
        closest: {pair name (``gaunt_md.data.pair_name``): Å}, the data's closest approach of each
            pair of elements; r_off is capped at DATA_MARGIN times it (pairs not named keep 0.75 b).

    The per-pair constants are float64 buffers [S, S] rebuilt from ``elements`` (not saved in a
    state dict), cast with the module by ``.float()`` / ``.to()``.
    """

    def __init__(self, elements: Sequence[int], r_max: float, closest: Mapping[str, float] | None = None) -> None:
        super().__init__()
        z = torch.tensor(list(elements), dtype=torch.float64)
        radii = torch.tensor(covalent_radii[list(elements)], dtype=torch.float64)
        closest = {_pair_key(k): float(v) for k, v in (closest or {}).items()}
        data = torch.tensor(
            [[DATA_MARGIN * closest.get(pair_name(a, b), math.inf) for b in elements] for a in elements],
            dtype=torch.float64,
        )
        r_off = torch.minimum(OUTER_FRACTION * (radii[:, None] + radii[None, :]), data).clamp(max=float(r_max))
        zp = z**SCREENING_EXPONENT
        constants = {
            "charge_product": COULOMB * z[:, None] * z[None, :],  # eV·Å
            "inverse_screening_length": (zp[:, None] + zp[None, :]) / SCREENING_LENGTH,  # 1/a_ij, 1/Å
            "r_on": INNER_FRACTION / OUTER_FRACTION * r_off,
            "r_off": r_off,
            "coefficients": torch.tensor(SCREENING_COEFFICIENTS, dtype=torch.float64),
            "decays": torch.tensor(SCREENING_DECAYS, dtype=torch.float64),
        }
        for name, value in constants.items():
            self.register_buffer(name, value, persistent=False)

    def pair_energy(self, species_i: torch.Tensor, species_j: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """species_i, species_j: [E] species indices, r: [E] distances (Å) → [E] E_ij (eV)."""
        x = r * self.inverse_screening_length[species_i, species_j]
        phi = (self.coefficients * torch.exp(-x[:, None] * self.decays)).sum(-1)
        r_on, r_off = self.r_on[species_i, species_j], self.r_off[species_i, species_j]
        t = ((r - r_on) / (r_off - r_on)).clamp(0.0, 1.0)
        switch = 1 - t**3 * (10 - 15 * t + 6 * t**2)
        return self.charge_product[species_i, species_j] / r * phi * switch

    def forward(self, species: torch.Tensor, edge_index: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """species: [N], edge_index: [2, E] directed edges (both directions present), lengths: [E] (Å)
        → [N] per-atom energies (eV): each edge i→j gives half of E_ij to its center i."""
        centers, neighbours = edge_index[0], edge_index[1]
        pair = self.pair_energy(species.index_select(0, centers), species.index_select(0, neighbours), lengths)
        return lengths.new_zeros(species.shape[0]).index_add(0, centers, 0.5 * pair)


def _pair_key(name: str) -> str:
    """``pair_name`` of "A-B" in either order; ValueError for anything else."""
    try:
        a, b = name.split("-")
        return pair_name(atomic_numbers[a], atomic_numbers[b])
    except (KeyError, ValueError):
        raise ValueError(f"closest_pairs: {name!r} is not a pair of element symbols such as 'H-O'") from None


__all__ = ["ZBLRepulsion"]
