"""From structures (ase.Atoms, pymatgen Structure/Molecule) to batched neighbour graphs."""

from .elements import atomic_numbers_of
from .graph import as_atoms, atoms_to_graph, batch_graphs

__all__ = ["as_atoms", "atomic_numbers_of", "atoms_to_graph", "batch_graphs"]
