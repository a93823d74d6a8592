"""Surface energies of the mlearn training slabs: DFT labels against a shipped model.

A slab's surface energy is its energy less as many atoms of the ground-state crystal (the file's frame that
``models/elastic.py`` takes as the ground state; labels for the labels, the model's prediction for the model), over
twice its in-plane area (J/m²). The model's energies come from ``gaunt-md eval --output`` (float64). Prints one table per
element and the straight line through (label, model) over the slabs: a slope below 1 means the model compresses the
spread between facets. The run of 2026-12-06::

    python benchmarks/surface_energies.py --elements Si Ge Mo

Results: ``benchmarks/results/surface_energies.json``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import numpy as np
from _runs import GAUNT_MD, ROOT, merge_json, provenance
from ase import units
from ase.io import read

sys.path.insert(0, str(ROOT / "models"))
from elastic import ground_and_strained  # noqa: E402  (the ground-state rule of the model cards)

DATA = ROOT.parent / "shared" / "data" / "mlearn"
WORK = ROOT / "benchmarks" / "_work" / "surface-energies"
RESULTS = ROOT / "benchmarks" / "results" / "surface_energies.json"
J_PER_M2 = units._e * 1e20  # 1 eV/Å² in J/m²


def surface_energies(frames: list, energies: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Indices of the Surface frames and their surface energies (J/m²) from per-frame ``energies`` (eV)."""
    ground, _ = ground_and_strained(frames)
    bulk = next(energies[i] / len(a) for i, a in enumerate(frames) if a is ground)
    slabs = [i for i, a in enumerate(frames) if a.info["config_type"] == "Surface"]
    area = np.array([np.linalg.norm(np.cross(*frames[i].cell[:2])) for i in slabs])
    excess = np.array([energies[i] - len(frames[i]) * bulk for i in slabs])
    return slabs, excess / (2 * area) * J_PER_M2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", nargs="+", default=["Si", "Ge", "Mo"])
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    for element in args.elements:
        model = next((ROOT / "models").glob(f"gaunt-mlearn-{element}-*.pt"))
        predicted = WORK / f"{element}_train.xyz"
        cmd = [*GAUNT_MD, "eval", str(model), str(DATA / element / "train.xyz"), "--output", str(predicted), "--force"]
        subprocess.run(cmd, check=True, capture_output=True)
        frames = read(predicted, index=":")
        slabs, label = surface_energies(frames, np.array([a.get_potential_energy() for a in frames]))
        _, fitted = surface_energies(frames, np.array([a.info["gaunt_energy"] for a in frames]))
        slope, _ = np.polyfit(label, fitted, 1)
        summary = {
            "slope": float(slope),
            "correlation": float(np.corrcoef(label, fitted)[0, 1]),
            "rms_difference": float(np.sqrt(np.mean((fitted - label) ** 2))),
        }
        print(
            f"{model.name}: slope {slope:.2f}, correlation {summary['correlation']:.2f}, RMS difference "
            f"{summary['rms_difference']:.3f} J/m²"
        )
        print("| slab | facet | atoms | label J/m² | model J/m² | E error meV/atom |\n|---|---|---|---|---|---|")
        rows = []
        for i, g, m in zip(slabs, label, fitted, strict=True):
            a = frames[i]
            hkl = re.search(r"\(([\d_]+)\)(_reconstructed)?", a.info.get("description", ""))
            facet = f"({hkl[1].replace('_', '')}){' reconstructed' if hkl[2] else ''}" if hkl else ""
            error = (a.info["gaunt_energy"] - a.get_potential_energy()) / len(a) * 1000
            rows.append({"frame": i, "facet": facet, "atoms": len(a), "label": g, "model": m, "error": error})
            print(f"| {i} | {facet} | {len(a)} | {g:.3f} | {m:.3f} | {error:+.1f} |")
        merge_json(RESULTS, {element: {"model": model.name, **summary, "slabs": rows, "provenance": provenance(2)}}, 1)


if __name__ == "__main__":
    main()
