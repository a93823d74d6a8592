"""Element lists given as symbols or atomic numbers."""

from __future__ import annotations

from collections.abc import Iterable

from ase.data import atomic_numbers, chemical_symbols


def atomic_numbers_of(elements: Iterable[str | int]) -> list[int]:
    """Sorted unique atomic numbers of ``elements`` (symbols like "H" or numbers like 1)."""
    out = set()
    for e in elements:
        if isinstance(e, str):
            if e not in atomic_numbers or e == "X":
                raise ValueError(f"unknown element symbol {e!r}")
            out.add(atomic_numbers[e])
        else:
            z = int(e)
            if not 1 <= z < len(chemical_symbols):
                raise ValueError(f"unknown atomic number {z}")
            out.add(z)
    if not out:
        raise ValueError("the model needs at least one element")
    return sorted(out)
