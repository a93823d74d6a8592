"""The many-body product's grid transforms as two table products or one, in compiled force calls and steps.

``so3.ToGrid`` / ``so3.FromGrid`` map coefficients to grid samples and back by a Legendre table per m
and a ring table per ring, two matrix products in turn. Since 2026-12-06, where the two tables
multiplied out cost no more multiply-adds (the model's degrees: L ≤ 3 on grids of 50-72 points), the
column transforms take one product with that matrix instead. This script compiles the default model
(128 channels, float32, random weights, seed 0) both ways in one process ("two products": the
``whole`` matrices removed) and times compiled calculator calls in interleaved rounds
(``_timing.interleaved_calls``, 2 threads as ``benchmarks/speed.py``; molecules run on one, as the
calculator does), then the compiled training step of ``gaunt-md fit --compile`` on acac (batch 2, one
thread). Run it on a quiet machine.

    python benchmarks/grid_transforms.py   # ~6 min: benchmarks/results/grid_transforms.json, docs/performance.md
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from _timing import DATA, SYSTEMS, interleaved_calls
from ase.io import read
from torch_geometric.data import Batch

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import read_frames
from gaunt_md.so3 import FromGrid, ToGrid
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.step import CompiledStep

ROOT = Path(__file__).resolve().parents[1]
ELEMENTS = ["H", "C", "N", "O"]
ROUNDS, THREADS, STEP_BATCHES = 9, 2, 10
WEIGHTS = {"energy": 1.0, "forces": 100.0, "stress": 1.0}
KINDS = ("two products", "one product")


def model(kind: str) -> GauntForceField:
    """The default model (seed 0); with "two products" its transforms take the two tables in turn."""
    torch.manual_seed(0)
    m = GauntForceField(ELEMENTS)
    for module in m.modules():
        if kind == "two products" and isinstance(module, (ToGrid, FromGrid)):
            module.whole = None
    return m


def force_calls(file: Path, calls: int) -> dict:
    atoms = read(file, 0)
    calcs, first = {}, {}
    for kind in KINDS:
        calcs[kind] = GauntCalculator(model(kind), device="cpu", dtype="float32", compile=True)
        start = time.perf_counter()
        calcs[kind].calculate(atoms.copy(), ["energy", "forces"])  # compiles
        first[kind] = time.perf_counter() - start
    times, forces = interleaved_calls(calcs, atoms, calls, ROUNDS)
    return {
        **{f"{k}_ms": statistics.median(v) for k, v in times.items()},
        **{f"{k}_first_call_s": v for k, v in first.items()},
        "speedup": statistics.median([a / b for a, b in zip(*times.values())]),
        "max_force_difference": float(abs(forces[KINDS[0]] - forces[KINDS[1]]).max()),
    }


def training_steps() -> dict:
    frames = read_frames(DATA / "acac" / "train_300K.xyz", "energy", "forces", None)[: 2 * STEP_BATCHES]
    steps, first = {}, {}
    torch.set_num_threads(1)  # as gaunt-md fit's shipped fits run
    try:
        for kind in KINDS:
            m = model(kind).float().train()
            graphs = [labelled_graph(f, m.config.r_max, m.species_of, torch.float32) for f in frames]
            batches = [Batch.from_data_list(graphs[i : i + 2]) for i in range(0, len(graphs), 2)]
            steps[kind] = (CompiledStep(m, 2, echo=lambda *a: None), batches)
            start = time.perf_counter()
            steps[kind][0](batches[0], WEIGHTS)
            first[kind] = time.perf_counter() - start
        times = {k: [] for k in KINDS}
        for r in range(ROUNDS + 1):
            for kind, (step, batches) in steps.items():
                start = time.perf_counter()
                for b in batches:
                    step(b, WEIGHTS)
                if r:  # round 0 warms up
                    times[kind].append(1e3 * (time.perf_counter() - start) / len(batches))
    finally:
        torch.set_num_threads(THREADS)
    return {
        **{f"{k}_ms": statistics.median(v) for k, v in times.items()},
        **{f"{k}_first_call_s": v for k, v in first.items()},
        "speedup": statistics.median([a / b for a, b in zip(*times.values())]),
    }


def main() -> None:
    torch.set_num_threads(THREADS)
    results = {"meta": {"torch": torch.__version__, "threads": THREADS, "time": time.strftime("%Y-%m-%d %H:%M")}}
    for name, (file, calls) in SYSTEMS.items():
        results[name] = force_calls(file, calls)
        print(name, json.dumps(results[name]), flush=True)
    results["training step, acac, batch of 2"] = training_steps()
    print(json.dumps(results["training step, acac, batch of 2"]), flush=True)
    (ROOT / "benchmarks" / "results" / "grid_transforms.json").write_text(json.dumps(results, indent=2))
    meta, rows = results["meta"], {k: v for k, v in results.items() if k != "meta"}
    lines = [
        f"The many-body product's grid transforms as two table products in turn (before 2026-12-06) or one "
        f"product with the tables multiplied out (now, where it costs no more multiply-adds: the model's L ≤ 3), "
        f"compiled both ways in one process ({meta['time']}; the default model, float32): calculator calls on "
        f"{THREADS} threads (molecules on one, as the calculator runs them) and the compiled training step of acac "
        f"(batch of 2, one thread), medians over {ROUNDS} interleaved rounds, speed-up: the median of the per-round "
        "ratios; first call: trace and compilation. Rerun: `python benchmarks/grid_transforms.py`.",
        "",
        "| system | two products ms | one product ms | speed-up | first call s (two, one) |",
        "|---|---|---|---|---|",
        *(
            f"| {n} | {r['two products_ms']:.2f} | {r['one product_ms']:.2f} | {r['speedup']:.3f}x | "
            f"{r['two products_first_call_s']:.0f}, {r['one product_first_call_s']:.0f} |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "grid_transforms", "Grid transforms in one product", lines)


if __name__ == "__main__":
    main()
