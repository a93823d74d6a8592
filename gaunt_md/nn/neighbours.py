"""Dense per-atom neighbour tables, so neighbour sums are batched matmuls instead of scatters."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..so3._rows import inverse_table


@dataclass
class NeighbourTable:
    """Edges laid out as [N atoms, width] slots (width = the largest neighbour count).

    ``edge [N*width]``: the edge in each slot (E for an empty slot); ``neighbour [N*width]``: its
    neighbour atom (N for an empty slot); the ``*_table`` fields are the inverse maps that make the
    backward passes gathers (see ``gaunt_md.so3._rows``).
    """

    width: int
    edge: torch.Tensor
    edge_table: torch.Tensor
    neighbour: torch.Tensor
    neighbour_table: torch.Tensor

    @classmethod
    def build(cls, centers: torch.Tensor, neighbours: torch.Tensor, num_nodes: int) -> "NeighbourTable":
        slots = inverse_table(centers, num_nodes)  # [N, width]: the edges of each center
        edge = slots.reshape(-1)
        neighbour = torch.cat([neighbours, neighbours.new_full((1,), num_nodes)])[edge]
        return cls(slots.shape[1], edge, inverse_table(edge, centers.numel()), neighbour, inverse_table(neighbour, num_nodes))
