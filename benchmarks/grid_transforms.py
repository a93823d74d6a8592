"""The many-body product on the ring grid or on a Lebedev rule, in compiled force calls and steps.

The many-body product samples its factors on a sphere grid, multiplies them pointwise and projects back.
Until 2026-12-06 (late) the grid was ``so3._grid``'s Gauss-Legendre × uniform one (6 × 12 = 72 points for
the first layer's degree 11, 5 × 10 = 50 for the second's 9; transforms by one product with the ring
and Legendre tables multiplied out where that is cheaper, else two in turn); now it is the Lebedev rule of
the same degree (50 and 38 points, ``so3.lebedev_tables``). Both are exact, so the model computes the
same function (float64 forces agree to ~1e-15 eV/Å). This script compiles the default model (128
channels, float32, random weights, seed 0) both ways in one process and times compiled calculator calls
in interleaved rounds (``_timing.interleaved_calls``, 2 threads as ``benchmarks/speed.py``; molecules
run on one, as the calculator does), then the compiled training step of ``gaunt-md fit --compile`` on
acac (batch 2, one thread). Run it on a quiet machine.

    python benchmarks/grid_transforms.py   # ~6 min: benchmarks/results/grid_transforms.json, docs/performance.md
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from _timing import DATA, interleaved_calls, measure_systems, paired_summary
from ase.io import read
from torch_geometric.data import Batch

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import read_frames
from gaunt_md.nn.many_body import _GridProduct
from gaunt_md.so3 import FromGrid, ToGrid, grid_shape
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.step import CompiledStep

ROOT = Path(__file__).resolve().parents[1]
ELEMENTS = ["H", "C", "N", "O"]
ROUNDS, THREADS, STEP_BATCHES = 9, 2, 10
WEIGHTS = {"energy": 1.0, "forces": 100.0, "stress": 1.0}
KINDS = ("ring grid", "Lebedev")


class RingGridProduct(torch.nn.Module):
    """The many-body product's grid step as it was before the Lebedev rule (``nn.many_body._GridProduct``)."""

    def __init__(self, lmax: int, lmax_out: int, correlation: int) -> None:
        super().__init__()
        n_beta, n_alpha = grid_shape(correlation * lmax + lmax_out, lmax)
        self.to_grid = ToGrid(lmax, n_beta, n_alpha)
        self.from_grid = FromGrid(lmax_out, n_beta, n_alpha)

    def forward(self, factors: list[torch.Tensor]) -> torch.Tensor:
        n, f, c = factors[0].shape
        grids = [self.to_grid.columns(ak.transpose(0, 1).reshape(f, -1)) for ak in factors]
        product = grids[-1]
        for gk in reversed(grids[:-1]):
            product = torch.addcmul(gk, gk, product)
        return self.from_grid.columns(product).view(-1, n, c).transpose(0, 1)


def model(kind: str) -> GauntForceField:
    """The default model (seed 0); with "ring grid" its many-body products run on the ring grid."""
    torch.manual_seed(0)
    m = GauntForceField(ELEMENTS)
    if kind == "ring grid":
        for layer in m.layers:
            layer.product.grid = RingGridProduct(m.config.lmax, layer.lmax_out, m.config.correlation).double()
    assert all(isinstance(layer.product.grid, _GridProduct) == (kind == "Lebedev") for layer in m.layers)
    return m


def force_calls(file: Path, calls: int) -> dict:
    atoms = read(file, 0)
    calcs, first = {}, {}
    for kind in KINDS:
        calcs[kind] = GauntCalculator(model(kind), device="cpu", dtype="float32", compile=True)
        start = time.perf_counter()
        calcs[kind].calculate(atoms.copy(), ["energy", "forces"])  # compiles
        first[kind] = time.perf_counter() - start
    return {
        **paired_summary(*interleaved_calls(calcs, atoms, calls, ROUNDS), *KINDS),
        **{f"{k}_first_call_s": v for k, v in first.items()},
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
    results = measure_systems(force_calls, THREADS)
    results["training step, acac, batch of 2"] = training_steps()
    print(json.dumps(results["training step, acac, batch of 2"]), flush=True)
    (ROOT / "benchmarks" / "results" / "grid_transforms.json").write_text(json.dumps(results, indent=2))
    meta, rows = results["meta"], {k: v for k, v in results.items() if k != "meta"}
    lines = [
        f"The many-body product on the ring grid (Gauss-Legendre × uniform, 72 and 50 points in the two layers; "
        f"before 2026-12-06 late) or on the Lebedev rule of the same degree (50 and 38 points; now), compiled both "
        f"ways in one process ({meta['time']}; the default model, float32): calculator calls on "
        f"{THREADS} threads (molecules on one, as the calculator runs them) and the compiled training step of acac "
        f"(batch of 2, one thread), medians over {ROUNDS} interleaved rounds, speed-up: the median of the per-round "
        "ratios; first call: trace and compilation. Rerun: `python benchmarks/grid_transforms.py`.",
        "",
        "| system | ring grid ms | Lebedev ms | speed-up | first call s (ring, Lebedev) | max force difference eV/Å |",
        "|---|---|---|---|---|---|",
        *(
            f"| {n} | {r['ring grid_ms']:.2f} | {r['Lebedev_ms']:.2f} | {r['speedup']:.3f}x | "
            f"{r['ring grid_first_call_s']:.0f}, {r['Lebedev_first_call_s']:.0f} | "
            f"{format(r['max_force_difference'], '.1e') if 'max_force_difference' in r else ''} |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "lebedev_grid", "The many-body product on a Lebedev rule", lines)


if __name__ == "__main__":
    main()
