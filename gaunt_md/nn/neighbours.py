"""Dense per-atom neighbour tables, so neighbour sums are batched matmuls instead of scatters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
    def build(
        cls,
        centers: torch.Tensor,
        neighbours: torch.Tensor,
        num_nodes: int,
        groups: int,
        num_edges: int | None = None,
        width: int | None = None,
    ) -> NeighbourTable:
        """The table of the edges ``centers → neighbours`` [E]. With ``num_edges`` ≥ E the per-edge
        data has that many rows, the last ones padding that no slot reads (and whose gradient is
        zero); with ``width`` ≥ the largest neighbour count every row has that many slots. Then the
        table's shapes depend on (num_nodes, num_edges, width) alone (``gaunt_md.compiled``). Built
        on the host (numpy, as :func:`inverse_table`) and returned on the device of ``centers``."""
        device = centers.device
        centers, neighbours = centers.cpu().numpy(), neighbours.cpu().numpy()
        real = centers.size
        n_edges = real if num_edges is None else num_edges
        slots = inverse_table(centers, num_nodes, width)  # [N, width]: the edges of each center, E when empty
        width = slots.shape[1]
        group = np.arange(groups)
        empty = (slots == real)[:, None, :]
        edge = np.where(empty, n_edges * groups, slots[:, None, :] * groups + group[:, None]).reshape(-1)
        atom = np.append(neighbours, num_nodes)[slots]
        neighbour = np.where(empty, num_nodes * groups, atom[:, None, :] * groups + group[:, None]).reshape(-1)
        # edge is a partial permutation: edge e, group g sits in slot ((center · G + g) · width + rank of e)
        filled_row, filled_slot = np.nonzero(slots < real)
        rank = np.empty(real, dtype=np.int64)
        rank[slots[filled_row, filled_slot]] = filled_slot
        edge_table = (centers[:, None] * groups + group) * width + rank[:, None]  # [E, G]
        padding = np.full((n_edges - real, groups), edge.size)  # padded edges: no slot
        edge_table = np.concatenate([edge_table, padding]).reshape(-1, 1)
        return cls(width, *(torch.from_numpy(x).to(device) for x in (edge, edge_table, neighbour)))
