"""Neighbour graphs of structures (matscipy), batched with torch-geometric for training, or as a plain
batch of one (:class:`Structure`) for calculator calls.

A graph holds, for a structure of N atoms and E directed edges (center i, neighbour j):
``positions [N, 3]`` (Å), ``species [N]`` (index into the model's elements), ``edge_index [2, E]``
(row 0 centers, row 1 neighbours), ``shifts [E, 3]`` (Å: the lattice translation that takes atom j
to the image within r_max of i, so r_ij = x_j - x_i + shift), ``cell [1, 3, 3]`` (Å) and
``volume [1]`` (Å^3; 0 for non-periodic structures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from ase import Atoms
from matscipy.neighbours import neighbour_list
from torch_geometric.data import Batch, Data


def as_atoms(structure: Any) -> Atoms:
    """``ase.Atoms`` of an Atoms, a pymatgen ``Structure`` or ``Molecule``."""
    if isinstance(structure, Atoms):
        return structure
    from pymatgen.core import IStructure, Molecule, Structure  # imported here: pymatgen is slow to import
    from pymatgen.io.ase import AseAtomsAdaptor

    if isinstance(structure, (Structure, IStructure, Molecule)):
        return AseAtomsAdaptor.get_atoms(structure)
    raise TypeError(f"expected ase.Atoms or a pymatgen Structure/Molecule, got {type(structure).__name__}")


def _check(atoms: Atoms) -> None:
    positions = atoms.get_positions()
    if not np.all(np.isfinite(positions)):
        bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
        raise ValueError(f"positions of atoms {bad[:10].tolist()} are NaN or infinite")
    if atoms.pbc.any():
        cell = atoms.cell.array
        for axis in np.flatnonzero(atoms.pbc):
            if np.linalg.norm(cell[axis]) < 1e-8:
                raise ValueError(
                    f"periodic boundary conditions along axis {axis} but cell vector {axis} is zero; "
                    "set atoms.cell or turn pbc off for that axis"
                )
        if atoms.pbc.all() and abs(np.linalg.det(cell)) < 1e-8:
            raise ValueError("the cell of this periodic structure has zero volume")


def _search_cell(atoms: Atoms, r_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell and positions for matscipy: non-periodic axes get a box around all atoms."""
    cell = atoms.cell.array.copy()
    positions = atoms.get_positions()
    if atoms.pbc.all():
        return cell, positions
    span = np.ptp(positions, axis=0).max() if len(atoms) else 0.0
    size = span + 2 * r_max + 1.0
    if not atoms.pbc.any():
        return np.eye(3) * size, positions - positions.min(axis=0) + r_max
    for axis in np.flatnonzero(~atoms.pbc):
        others = cell[[a for a in range(3) if a != axis]]
        normal = np.cross(others[0], others[1])
        normal /= np.linalg.norm(normal)
        cell[axis] = normal * (size + abs(positions @ normal).max())
    return cell, positions


def _graph_arrays(atoms: Atoms, r_max: float, species_of: dict[int, int]) -> dict[str, np.ndarray]:
    """The fields of a structure's graph (module docstring) as numpy arrays."""
    _check(atoms)
    numbers = atoms.get_atomic_numbers()
    unknown = sorted(set(numbers.tolist()) - set(species_of))
    if unknown:
        from ase.data import chemical_symbols

        names = ", ".join(chemical_symbols[z] for z in unknown)
        known = ", ".join(chemical_symbols[z] for z in sorted(species_of))
        raise ValueError(f"element(s) {names} not supported by this model, which knows {known}")
    cell, positions = _search_cell(atoms, r_max)
    i, j, shift_index = neighbour_list("ijS", positions=positions, cell=cell, pbc=atoms.pbc, cutoff=r_max)
    return {
        "positions": atoms.get_positions(),
        "species": np.array([species_of[z] for z in numbers], dtype=np.int64),
        "edge_index": np.stack([i, j]).astype(np.int64),
        "shifts": shift_index @ atoms.cell.array,
        "cell": atoms.cell.array[None].copy(),
        "volume": np.array([abs(atoms.cell.volume) if atoms.pbc.all() else 0.0]),
    }


def _tensors(arrays: dict[str, np.ndarray], dtype: torch.dtype, device: torch.device | str = "cpu") -> dict:
    """Torch tensors of :func:`_graph_arrays`: integers as int64, lengths in ``dtype``."""
    return {
        k: torch.from_numpy(v).to(device=device, dtype=torch.long if v.dtype == np.int64 else dtype)
        for k, v in arrays.items()
    }


def atoms_to_graph(atoms: Atoms, r_max: float, species_of: dict[int, int], dtype: torch.dtype = torch.float64) -> Data:
    """The neighbour graph of ``atoms`` within ``r_max`` (Å); ``species_of`` maps Z → element index."""
    return Data(**_tensors(_graph_arrays(atoms, r_max, species_of), dtype), num_nodes=len(atoms))


@dataclass
class Structure:
    """One structure's graph as a batch of one (the fields of the module docstring, ``batch [N]`` all
    zero, ``num_graphs`` 1): what ``batch_graphs([atoms_to_graph(...)])`` holds, without
    torch-geometric's containers (``atoms_to_graph`` and ``batch_graphs`` together took about 0.6 ms
    of a 5.3 ms compiled acac call; docs/performance.md, "Around the graph"). Calculators pass one to
    the model each call."""

    positions: torch.Tensor
    species: torch.Tensor
    edge_index: torch.Tensor
    shifts: torch.Tensor
    cell: torch.Tensor
    volume: torch.Tensor
    num_graphs: int = 1

    @property
    def batch(self) -> torch.Tensor:
        return self.species.new_zeros(self.species.shape[0])


def structure_graph(
    atoms: Atoms, r_max: float, species_of: dict[int, int], dtype: torch.dtype, device: torch.device | str = "cpu"
) -> Structure:
    """The graph of ``atoms`` (as :func:`atoms_to_graph`) as a batch of one on ``device``."""
    return Structure(**_tensors(_graph_arrays(atoms, r_max, species_of), dtype, device))


def batch_graphs(graphs: Sequence[Data]) -> Batch:
    """One disjoint graph of several structures; ``batch [N]`` says which structure each atom is in.
    A single graph is wrapped directly: the same Batch as torch-geometric's general collate, in a fifth
    of its time (about 0.1 against 0.55 ms on acac, 2026-12-04); calculators skip even that
    (:func:`structure_graph`)."""
    if len(graphs) == 1:
        (graph,) = graphs
        n = graph.num_nodes
        return Batch(**dict(graph.items()), batch=torch.zeros(n, dtype=torch.long), ptr=torch.tensor([0, n]))
    return Batch.from_data_list(list(graphs))
