"""Dense per-atom neighbour tables, so neighbour sums are batched matmuls instead of scatters."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .gather import inverse_table


@dataclass
class NeighbourTable:
    """Edges laid out as [N atoms, G radial groups, width] slots (width = the largest neighbour count),
    the layout in which the Gaunt convolution's neighbour sum is one batched matmul.

    ``edge [N*G*width]``: row e·G + g of per-edge, per-group data for each slot (E·G when empty);
    ``neighbour [N*G*width]``: row j·G + g of per-atom, per-group features (N·G when empty);
    ``edge_table``: the inverse map of ``edge``, which makes the backward pass a gather
    (see ``gather.py``).
    """

    width: int
    edge: torch.Tensor
    edge_table: torch.Tensor
    neighbour: torch.Tensor

    @classmethod
    def build(cls, centers: torch.Tensor, neighbours: torch.Tensor, num_nodes: int, groups: int) -> NeighbourTable:
        n_edges = centers.numel()
        slots = inverse_table(centers, num_nodes)  # [N, width]: the edges of each center, E when empty
        width = slots.shape[1]
        group = torch.arange(groups, device=centers.device)
        empty = (slots == n_edges)[:, None, :]
        edge = torch.where(empty, n_edges * groups, slots[:, None, :] * groups + group[:, None]).reshape(-1)
        atom = torch.cat([neighbours, neighbours.new_full((1,), num_nodes)])[slots]
        neighbour = torch.where(empty, num_nodes * groups, atom[:, None, :] * groups + group[:, None]).reshape(-1)
        # edge is a partial permutation: edge e, group g sits in slot ((center · G + g) · width + rank of e)
        filled = torch.nonzero(slots < n_edges)
        rank = torch.empty(n_edges, dtype=torch.long, device=centers.device)
        rank[slots[filled[:, 0], filled[:, 1]]] = filled[:, 1]
        edge_table = (centers[:, None] * groups + group) * width + rank[:, None]  # [E, G]
        return cls(width, edge, edge_table.view(-1, 1), neighbour)
