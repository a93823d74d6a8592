"""From structures (ase.Atoms, pymatgen Structure/Molecule) to batched neighbour graphs."""

from .e0s import e0s_from_isolated_atoms, e0s_least_squares
from .elements import atomic_numbers_of
from .graph import Structure, as_atoms, atoms_to_graph, batch_graphs, structure_graph
from .labels import Frame, read_frames
from .split import validation_split
from .structures import read_structure, snapshot

__all__ = [
    "Frame",
    "Structure",
    "as_atoms",
    "atomic_numbers_of",
    "atoms_to_graph",
    "batch_graphs",
    "e0s_from_isolated_atoms",
    "e0s_least_squares",
    "read_frames",
    "read_structure",
    "snapshot",
    "structure_graph",
    "validation_split",
]
