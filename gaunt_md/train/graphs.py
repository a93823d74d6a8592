"""Labelled graphs and the statistics a model is initialised from (E0s, shift, scale, neighbours)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from ..data import Frame, atoms_to_graph


def labelled_graph(
    frame: Frame, r_max: float, species_of: dict[int, int], dtype: torch.dtype, weight: float = 1.0
) -> Data:
    """The neighbour graph of a frame with its labels: energy [1] (eV, float64), forces [N, 3] (eV/Å),
    stress [1, 3, 3] (eV/Å^3, zeros when absent), has_stress [1] (a periodic frame with a stress label)
    and its loss weight [1]."""
    graph = atoms_to_graph(frame.atoms, r_max, species_of, dtype=dtype)
    graph.energy = torch.tensor([frame.energy], dtype=torch.float64)  # as the model's energies: ~1e4 eV
    graph.forces = torch.tensor(frame.forces, dtype=dtype)
    has_stress = frame.stress is not None and bool(frame.atoms.pbc.all())  # the model has no stress without a cell
    graph.stress = torch.tensor(frame.stress if has_stress else np.zeros((3, 3)), dtype=dtype).unsqueeze(0)
    graph.has_stress = torch.tensor([has_stress])
    graph.weight = torch.tensor([weight], dtype=dtype)
    return graph


def data_statistics(frames: Sequence[Frame], graphs: Sequence[Data], e0s: dict[int, float]) -> dict[str, float]:
    """avg_num_neighbors, shift = mean per-atom energy after E0s (eV), scale = RMS force component (eV/Å)."""
    n_atoms = sum(len(f.atoms) for f in frames)
    n_edges = sum(g.edge_index.shape[1] for g in graphs)
    residual = [(f.energy - sum(e0s.get(int(z), 0.0) for z in f.atoms.numbers)) / len(f.atoms) for f in frames]
    forces = np.concatenate([f.forces.reshape(-1) for f in frames])
    scale = float(np.sqrt(np.mean(forces**2)))
    return {
        "avg_num_neighbors": n_edges / max(n_atoms, 1),
        "shift": float(np.mean(residual)),
        "scale": scale if scale > 1e-8 else 1.0,
    }
