"""Dense per-atom neighbour tables, so neighbour sums are batched matmuls instead of scatters."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..so3._rows import inverse_table


@dataclass
class NeighbourTable:
    """Edges laid out as [N atoms, G radial groups, width] slots (width = the largest neighbour count),
    the layout in which the Gaunt convolution's neighbour sum is one batched matmul.

    ``edge [N*G*width]``: row e·G + g of per-edge, per-group data for each slot (E·G when empty);
    ``neighbour [N*G*width]``: row j·G + g of per-atom, per-group features (N·G when empty);
    ``edge_table``: the inverse map of ``edge``, which makes the backward pass a gather
    (see ``gaunt_md.so3._rows``).
    """

    width: int
    edge: torch.Tensor
    edge_table: torch.Tensor
    neighbour: torch.Tensor

    @classmethod
    def build(cls, centers: torch.Tensor, neighbours: torch.Tensor, num_nodes: int, groups: int) -> "NeighbourTable":
        n_edges = centers.numel()
        slots = inverse_table(centers, num_nodes)  # [N, width]: the edges of each center, E when empty
        group = torch.arange(groups, device=centers.device)[None, :, None]
        empty = (slots == n_edges)[:, None, :]
        edge = torch.where(empty, n_edges * groups, slots[:, None, :] * groups + group).reshape(-1)
        atom = torch.cat([neighbours, neighbours.new_full((1,), num_nodes)])[slots]
        neighbour = torch.where(empty, num_nodes * groups, atom[:, None, :] * groups + group).reshape(-1)
        return cls(
            slots.shape[1],
            edge,
            inverse_table(edge, n_edges * groups),
            neighbour,
        )
