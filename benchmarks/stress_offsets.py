"""How far each mlearn element's stress labels disagree with its own energies (the Pulay offset).

Along each uniaxial strain series of the "Elastic" group (the ground-state cell stretched by a stretch
λ = 1 + ε along one axis; ``models/elastic.py`` finds them), the energies alone give the stress: for
two neighbouring cells, dE/dλ = V0 σ (V0 the ground-state volume, σ the Cauchy stress along the
axis), so σ_energy = ΔE / (V0 Δε). Its difference to the mean stress label of the two cells is the
label's offset at that strain (GPa, ASE sign: label minus energies, what ``--stress-offset`` removes).
Prints, per element, the offsets by strain and their median over |ε| ≤ 5%; on Si and Ge, whose labels
are consistent, the method gives 0.0 ± 0.05 GPa. The run of 2026-12-07::

    python benchmarks/stress_offsets.py

Results: ``benchmarks/results/stress_offsets.json``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _runs import ROOT, merge_json, provenance
from ase import units
from ase.io import read

sys.path.insert(0, str(ROOT / "models"))
from elastic import ground_and_strained, voigt_strain  # noqa: E402  (the ground-state rule of the model cards)

DATA = ROOT.parent / "shared" / "data" / "mlearn"
RESULTS = ROOT / "benchmarks" / "results" / "stress_offsets.json"


def offsets(element: str) -> list[tuple[float, float]]:
    """(mid strain, label offset in GPa) for each pair of neighbouring cells of each uniaxial series."""
    frames = [a for a in read(DATA / element / "train.xyz", ":") if a.info.get("config_type") == "Elastic"]
    ground, strained = ground_and_strained(frames)
    cells = [ground, *strained]
    strain = np.array([voigt_strain(ground, a) for a in cells])
    mode = np.abs(strain).argmax(1)
    out = []
    for axis in range(3):
        series = sorted([0] + [i for i in range(1, len(cells)) if mode[i] == axis], key=lambda i: strain[i, axis])
        for a, b in zip(series[:-1], series[1:]):
            step = strain[b, axis] - strain[a, axis]
            if step < 1e-4:  # the same strain twice
                continue
            energy_stress = (cells[b].get_potential_energy() - cells[a].get_potential_energy()) / (
                ground.get_volume() * step
            )
            label = 0.5 * (cells[a].get_stress()[axis] + cells[b].get_stress()[axis])
            out.append((float(0.5 * (strain[a, axis] + strain[b, axis])), float((label - energy_stress) / units.GPa)))
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", nargs="+", default=["Si", "Ge", "Li", "Mo", "Cu", "Ni"])
    args = parser.parse_args()
    results = {}
    for element in args.elements:
        pairs = np.array(offsets(element))
        small = pairs[np.abs(pairs[:, 0]) <= 0.05, 1]
        results[element] = {
            "median_within_5_percent_GPa": float(np.median(small)),
            "range_within_5_percent_GPa": [float(small.min()), float(small.max())],
            "by_strain": [[round(e, 4), round(o, 3)] for e, o in pairs],
        }
        print(
            f"{element}: label minus energies {np.median(small):+.2f} GPa (median over |ε| ≤ 5%, "
            f"{small.min():+.2f} to {small.max():+.2f}); by strain " + " ".join(f"{e:+.3f}:{o:+.2f}" for e, o in pairs)
        )
    merge_json(RESULTS, {"provenance": provenance(0), "elements": results}, depth=1)


if __name__ == "__main__":
    main()
