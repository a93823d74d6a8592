"""Linear maps multiplied out across layers (``GauntForceField.for_inference``), in compiled force calls.

Since 2026-12-06 (late) the inference copy of a model folds the next layer's ``linear_in`` into a
layer's ``linear_out`` and ``skip`` (degrees ≥ 1), and the last readout's first map (C → 16) into the
last layer's: the same function, fewer matrix products. This script builds calculators of the default
model (128 channels, float32, random weights, seed 0) with and without the folds in one process and
times compiled calls in interleaved rounds (``_timing.interleaved_calls``, 2 threads as
``benchmarks/speed.py``; molecules run on one, as the calculator does). Run it on a quiet machine.

    python benchmarks/folded_maps.py   # ~4 min: benchmarks/results/folded_maps.json, docs/performance.md
"""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import torch
from _docs import write_section
from _timing import interleaved_calls, measure_systems, paired_summary
from ase.io import read

from gaunt_md import GauntCalculator, GauntForceField

ROOT = Path(__file__).resolve().parents[1]
ELEMENTS = ["H", "C", "N", "O"]
ROUNDS, THREADS = 9, 2
KINDS = ("unfolded", "folded")


def calculator(kind: str) -> GauntCalculator:
    torch.manual_seed(0)
    model = GauntForceField(ELEMENTS)
    if kind == "folded":
        return GauntCalculator(model, device="cpu", dtype="float32", compile=True)
    with mock.patch("gaunt_md.model._fold_linear_maps", lambda model: None):
        return GauntCalculator(model, device="cpu", dtype="float32", compile=True)


def force_calls(file: Path, calls: int) -> dict:
    atoms = read(file, 0)
    calcs = {kind: calculator(kind) for kind in KINDS}
    for calc in calcs.values():
        calc.calculate(atoms.copy(), ["energy", "forces"])  # compiles
    return paired_summary(*interleaved_calls(calcs, atoms, calls, ROUNDS), *KINDS)


def main() -> None:
    torch.set_num_threads(THREADS)
    results = measure_systems(force_calls, THREADS)
    (ROOT / "benchmarks" / "results" / "folded_maps.json").write_text(json.dumps(results, indent=2))
    meta, rows = results["meta"], {k: v for k, v in results.items() if k != "meta"}
    lines = [
        f"Compiled calculator calls of the default model (float32) with and without the linear maps multiplied out "
        f"across layers, both in one process ({meta['time']}; {THREADS} threads, molecules on one as the calculator "
        f"runs them), medians over {ROUNDS} interleaved rounds; speed-up: the median of the per-round ratios. "
        "Rerun: `python benchmarks/folded_maps.py`.",
        "",
        "| system | unfolded ms | folded ms | speed-up | max force difference eV/Å |",
        "|---|---|---|---|---|",
        *(
            f"| {n} | {r['unfolded_ms']:.2f} | {r['folded_ms']:.2f} | {r['speedup']:.3f}x | {r['max_force_difference']:.1e} |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "folded_maps", "Linear maps folded across layers", lines)


if __name__ == "__main__":
    main()
