"""The neighbour sum's scatter pass as ``index_add_`` (before 2026-12-06) against ``scatter_add_`` (now),
in compiled force calls.

The scatter pass of ``gaunt_md.nn.neighbour_sum`` (the backward of the neighbour sum, so part of every
force call) adds each slot's row into the row of its neighbour. Inductor compiles ``index_add_`` into a
loop of atomic adds when a kernel runs on several threads, and ``scatter_add_`` into a call of ATen's
sorted scatter kernel; on one thread both become a plain loop. This script compiles the same model both
ways in one process (the old pass patched in for the first calculator) and times the calculators'
force calls interleaved, 2 threads (gaunt-md runs molecules of up to 32 atoms on one of them): ethanol,
acac and 3bpa (first training frames) and a 192-atom water box, the default model, float32, random
weights. Reported: median ms per call over rounds, the median of the per-round ratios (old over new),
and the largest force difference. Run it on a quiet machine.

    python benchmarks/neighbour_scatter.py   # ~6 min: benchmarks/results/neighbour_scatter.json, docs/performance.md
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from _timing import interleaved_calls
from ase.io import read

import gaunt_md.nn.neighbour_sum as neighbour_sum
from gaunt_md import GauntCalculator, GauntForceField

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYSTEMS = {  # name: (file, elements, calls per round)
    "ethanol (9 atoms)": (DATA / "ethanol" / "train.xyz", ["H", "C", "O"], 40),
    "acac (15 atoms)": (DATA / "acac" / "train_300K.xyz", ["H", "C", "O"], 40),
    "3bpa (27 atoms)": (DATA / "3bpa" / "train_300K.xyz", ["H", "C", "N", "O"], 40),
    "water 64 H2O (192 atoms)": (DATA / "water" / "test.xyz", ["H", "O"], 5),
}
ROUNDS, THREADS = 7, 2
NEW = neighbour_sum._contract


def old_contract(mode, a, b, neighbour, width):
    """The scatter pass as it was (index_add_); the other passes as now."""
    if mode != neighbour_sum.SCATTER:
        return NEW(mode, a, b, neighbour, width)
    rows = neighbour.shape[0] // width
    out = b.new_zeros(rows + 1, b.shape[2])
    step = neighbour_sum._rows_per_block(width, b.shape[2], b)
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        v = torch.bmm(a[r0 * width : r1 * width].view(r1 - r0, width, -1), b[r0:r1])
        out.index_add_(0, neighbour[r0 * width : r1 * width], v.view(-1, v.shape[2]))
    return out[:rows]


def measure(file: Path, elements: list[str], calls: int) -> dict:
    torch.manual_seed(0)
    model = GauntForceField(elements)
    atoms = read(file, 0)
    calcs = {}
    for name, contract in (("index_add", old_contract), ("scatter_add", NEW)):
        neighbour_sum._contract = contract  # traced and compiled on the first call
        try:
            calcs[name] = GauntCalculator(model, device="cpu", dtype="float32", compile=True)
            first = atoms.copy()
            first.calc = calcs[name]
            first.get_forces()
        finally:
            neighbour_sum._contract = NEW
    times, forces = interleaved_calls(calcs, atoms, calls, ROUNDS)
    return {
        "index_add_ms": statistics.median(times["index_add"]),
        "scatter_add_ms": statistics.median(times["scatter_add"]),
        "speedup": statistics.median([a / b for a, b in zip(times["index_add"], times["scatter_add"])]),
        "max_force_difference": float(abs(forces["index_add"] - forces["scatter_add"]).max()),
    }


def main() -> None:
    torch.set_num_threads(THREADS)
    rows = {}
    for name, (file, elements, calls) in SYSTEMS.items():
        rows[name] = measure(file, elements, calls)
        print(name, json.dumps(rows[name]), flush=True)
    meta = {"torch": torch.__version__, "threads": THREADS, "time": time.strftime("%Y-%m-%d %H:%M")}
    (ROOT / "benchmarks" / "results" / "neighbour_scatter.json").write_text(
        json.dumps({"meta": meta, **rows}, indent=2)
    )
    lines = [
        f"The neighbour sum's scatter pass, compiled force calls, {THREADS} threads ({meta['time']}): `index_add_` (before "
        "2026-12-06) against `scatter_add_` (now), the same model compiled both ways in one process, medians over "
        f"{ROUNDS} interleaved rounds. Inductor turns `index_add_` into atomic adds when a kernel runs on several "
        "threads and `scatter_add_` into ATen's sorted scatter; molecules of up to 32 atoms run on one thread, where "
        "both are a plain loop. Rerun: `python benchmarks/neighbour_scatter.py`.",
        "",
        "| system | index_add_ ms/call | scatter_add_ ms/call | speed-up | largest force difference eV/Å |",
        "|---|---|---|---|---|",
        *(
            f"| {n} | {r['index_add_ms']:.2f} | {r['scatter_add_ms']:.2f} | {r['speedup']:.2f}x | "
            f"{r['max_force_difference']:.1e} |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "neighbour_scatter", "The neighbour sum's scatter", lines)


if __name__ == "__main__":
    main()
