"""Compiled force calls traced with the CPU passes in blocks (before 2026-12-06) against whole tensors (now).

Eagerly, the neighbour sum and the grid passes walk their largest tensors in cache-sized blocks
(``gaunt_md.blocking``). Traced for inductor, each block becomes a slice copy and the blocks' outputs a
concatenation whose kernel tests every block for every element, so its cost grows with the square of
the block count. This script compiles the same model both ways in one process (the first calculator
traced as before, with blocks) and times the two compiled calculators and the eager one interleaved,
2 threads (gaunt-md runs molecules of up to 32 atoms on one of them): ethanol, acac and 3bpa (first
training frames) and water boxes of 192 and 768 atoms, the default model, float32, random weights.
Reported: median ms per call over rounds, the median of the per-round ratios (blocked over whole), the
seconds of each compiled calculator's first call (trace and compilation), and the largest force
difference between the two. Run it on a quiet machine.

    python benchmarks/traced_blocks.py   # ~8 min: benchmarks/results/traced_blocks.json, docs/performance.md
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from ase.io import read

import gaunt_md.compiled as compiled
from gaunt_md import GauntCalculator, GauntForceField

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYSTEMS = {  # name: (file, elements, supercell, calls per round)
    "ethanol (9 atoms)": (DATA / "ethanol" / "train.xyz", ["H", "C", "O"], (1, 1, 1), 40),
    "acac (15 atoms)": (DATA / "acac" / "train_300K.xyz", ["H", "C", "O"], (1, 1, 1), 40),
    "3bpa (27 atoms)": (DATA / "3bpa" / "train_300K.xyz", ["H", "C", "N", "O"], (1, 1, 1), 40),
    "water 64 H2O (192 atoms)": (DATA / "water" / "test.xyz", ["H", "O"], (1, 1, 1), 5),
    "water 256 H2O (768 atoms)": (DATA / "water" / "test.xyz", ["H", "O"], (2, 2, 1), 2),
}
ROUNDS, THREADS = 7, 2
KINDS = ("blocked", "whole", "eager")


def measure(file: Path, elements: list[str], supercell: tuple, calls: int) -> dict:
    torch.manual_seed(0)
    model = GauntForceField(elements)
    atoms = read(file, 0).repeat(supercell)
    calcs, first_s = {}, {}
    for kind in KINDS:
        calcs[kind] = GauntCalculator(model, device="cpu", dtype="float32", compile=kind != "eager")
        first = atoms.copy()
        first.calc = calcs[kind]
        whole = compiled.whole_tensors
        if kind == "blocked":
            compiled.whole_tensors = contextlib.nullcontext  # traced as before 2026-12-06
        try:
            start = time.perf_counter()
            first.get_forces()
            first_s[kind] = time.perf_counter() - start
        finally:
            compiled.whole_tensors = whole
    times: dict[str, list[float]] = {k: [] for k in calcs}
    forces = {}
    for _ in range(ROUNDS):
        for kind, calc in calcs.items():
            moved = atoms.copy()
            moved.calc = calc
            start = time.perf_counter()
            for _ in range(calls):
                moved.positions[0, 0] += 1e-5  # a new structure: the calculator recomputes
                forces[kind] = moved.get_forces()
            times[kind].append(1e3 * (time.perf_counter() - start) / calls)
    return {
        **{f"{k}_ms": statistics.median(times[k]) for k in KINDS},
        "speedup": statistics.median([a / b for a, b in zip(times["blocked"], times["whole"])]),
        "whole_vs_eager": statistics.median([a / b for a, b in zip(times["eager"], times["whole"])]),
        "first_call_s": {k: first_s[k] for k in ("blocked", "whole")},
        "max_force_difference": float(abs(forces["blocked"] - forces["whole"]).max()),
    }


def main() -> None:
    torch.set_num_threads(THREADS)
    rows = {}
    for name, (file, elements, supercell, calls) in SYSTEMS.items():
        rows[name] = measure(file, elements, supercell, calls)
        print(name, json.dumps(rows[name]), flush=True)
    meta = {"torch": torch.__version__, "threads": THREADS, "time": time.strftime("%Y-%m-%d %H:%M")}
    (ROOT / "benchmarks" / "results" / "traced_blocks.json").write_text(json.dumps({"meta": meta, **rows}, indent=2))
    lines = [
        f"Compiled force calls, {THREADS} threads ({meta['time']}), traced with the CPU passes in blocks (before "
        "2026-12-06) and with whole tensors (now, `gaunt_md.blocking`): the same model compiled both ways in one "
        f"process, timed with the eager calculator, medians over {ROUNDS} interleaved rounds; speed-up: the median of "
        "the per-round ratios; first call: trace and compilation. Rerun: `python benchmarks/traced_blocks.py`.",
        "",
        "| system | blocked ms/call | whole ms/call | speed-up | eager ms/call | whole vs eager | first call s "
        "(blocked, whole) | largest force difference eV/Å |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {n} | {r['blocked_ms']:.2f} | {r['whole_ms']:.2f} | {r['speedup']:.2f}x | {r['eager_ms']:.2f} | "
            f"{r['whole_vs_eager']:.2f}x | {r['first_call_s']['blocked']:.0f}, {r['first_call_s']['whole']:.0f} | "
            f"{r['max_force_difference']:.1e} |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "traced_blocks", "Blocks in compiled graphs", lines)


if __name__ == "__main__":
    main()
