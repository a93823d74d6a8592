"""Energy bias per group of a labelled file: the mean and spread of prediction minus label (meV/atom) and the force MAE.

Groups are the frames' ``config_type``, split further by the run named in their ``notes`` where it is a JSON object
(the NbMoTaW frames: ``{"Md": "300-23"}`` is MD at 300 K, ``{"Md_110": ...}`` MD at 110% of the equilibrium volume).
A whole group off by one sign is a bias that the per-frame MAE of `gaunt-md eval` does not show.

    python benchmarks/energy_bias.py MODEL FILE [FILE ...]     # float64, one thread
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from ase.io import read

from gaunt_md.calculator import GauntCalculator


def group_of(atoms) -> str:
    """``config_type``, and for notes such as ``{"Md": "300-23"}`` the run's key and temperature: ``Mo_AIMD Md 300``."""
    group = str(atoms.info.get("config_type", "all"))
    try:
        notes = json.loads(atoms.info.get("notes", ""))
    except (TypeError, ValueError):
        return group
    if isinstance(notes, dict) and len(notes) == 1:
        key, value = next(iter(notes.items()))
        group += f" {key} {str(value).lstrip('-').split('-')[0]}" if key.startswith("Md") else ""
    return group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    calc = GauntCalculator(args.model, dtype="float64", threads=1)
    for path in args.files:
        rows: dict[str, list[tuple[float, float]]] = {}
        for atoms in read(path, ":"):
            energy, forces = atoms.get_potential_energy(), atoms.get_forces()
            copy = atoms.copy()
            copy.calc = calc
            error = 1e3 * (copy.get_potential_energy() - energy) / len(atoms)
            rows.setdefault(group_of(atoms), []).append((error, 1e3 * np.abs(copy.get_forces() - forces).mean()))
        print(path)
        print(f"  {'group':<24} frames  E bias  E spread  E MAE  (meV/atom)  F MAE (meV/Å)")
        for group, values in sorted(rows.items()):
            e, f = np.array(values).T
            print(
                f"  {group:<24} {len(e):6d}  {e.mean():+6.2f}  {e.std():8.2f}  {np.abs(e).mean():5.2f}  {f.mean():24.1f}"
            )


if __name__ == "__main__":
    main()
