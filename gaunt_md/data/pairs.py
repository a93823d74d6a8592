"""The closest approach of each pair of elements in a data set: where a pair prior must stay zero."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols
from matscipy.neighbours import neighbour_list

from .graph import _search_cell


def pair_name(z_i: int, z_j: int) -> str:
    """The key of an element pair, lighter element first: ``pair_name(8, 1) == "H-O"``."""
    a, b = sorted((int(z_i), int(z_j)))
    return f"{chemical_symbols[a]}-{chemical_symbols[b]}"


def closest_pairs(structures: Iterable[Atoms], cutoff: float) -> dict[str, float]:
    """{pair name: the shortest distance (Å) between two atoms of those elements}, over every structure
    (periodic images included) and every pair closer than ``cutoff`` (Å); pairs never closer are absent."""
    closest: dict[str, float] = {}
    for atoms in structures:
        cell, positions = _search_cell(atoms, cutoff)
        i, j, d = neighbour_list("ijd", positions=positions, cell=cell, pbc=atoms.pbc, cutoff=cutoff)
        if not d.size:
            continue
        numbers = atoms.numbers
        low, high = np.minimum(numbers[i], numbers[j]), np.maximum(numbers[i], numbers[j])
        for a, b in set(zip(low.tolist(), high.tolist())):
            r = float(d[(low == a) & (high == b)].min())
            name = pair_name(a, b)
            closest[name] = min(r, closest.get(name, np.inf))
    return closest


__all__ = ["closest_pairs", "pair_name"]
