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
difference between the two. ``--part training``: the compiled training step of ``gaunt-md fit
--compile`` (loss and gradients of a batch of 2) on liquid water in gaunt-water's settings, one
thread, traced both ways, against the eager step. Run it on a quiet machine.

    python benchmarks/traced_blocks.py   # ~15 min: benchmarks/results/traced_blocks.json, docs/performance.md
    python benchmarks/traced_blocks.py --part force   # or --part training: one table, the other kept
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from functools import partial
from pathlib import Path

import torch
from _docs import write_section
from _runs import shipped_config
from _timing import interleaved_calls
from ase.io import read

import gaunt_md.compiled as compiled
import gaunt_md.train.step as train_step
from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import read_frames
from gaunt_md.train.graphs import labelled_graph

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


@contextlib.contextmanager
def traced_with_blocks(module):
    """Within this context ``module`` traces its graphs as before 2026-12-06, with the eager blocks."""
    whole = module.whole_tensors
    module.whole_tensors = contextlib.nullcontext
    try:
        yield
    finally:
        module.whole_tensors = whole


def timed_first(kind: str, module, call) -> float:
    """Seconds of ``call()``, the first call of contender ``kind`` (blocked: traced with blocks)."""
    with traced_with_blocks(module) if kind == "blocked" else contextlib.nullcontext():
        start = time.perf_counter()
        call()
        return time.perf_counter() - start


def summary(times: dict[str, list[float]]) -> dict:
    """Medians over rounds of each contender's ms, and of the per-round ratios."""
    return {
        **{f"{k}_ms": statistics.median(times[k]) for k in KINDS},
        "speedup": statistics.median([a / b for a, b in zip(times["blocked"], times["whole"])]),
        "whole_vs_eager": statistics.median([a / b for a, b in zip(times["eager"], times["whole"])]),
    }


def measure(file: Path, elements: list[str], supercell: tuple, calls: int) -> dict:
    torch.manual_seed(0)
    model = GauntForceField(elements)
    atoms = read(file, 0).repeat(supercell)
    calcs, first_s = {}, {}
    for kind in KINDS:
        calcs[kind] = GauntCalculator(model, device="cpu", dtype="float32", compile=kind != "eager")
        first = atoms.copy()
        first.calc = calcs[kind]
        first_s[kind] = timed_first(kind, compiled, first.get_forces)
    times, forces = interleaved_calls(calcs, atoms, calls, ROUNDS)
    return {
        **summary(times),
        "first_call_s": {k: first_s[k] for k in ("blocked", "whole")},
        "max_force_difference": float(abs(forces["blocked"] - forces["whole"]).max()),
    }


def measure_training(batches: int = 4, rounds: int = 5) -> dict:
    """ms per batch of the compiled training step traced with blocks and whole, and of the eager step."""
    from torch_geometric.data import Batch

    torch.set_num_threads(1)  # as gaunt-md fit trains
    torch.manual_seed(0)
    settings = shipped_config("gaunt-water")
    model = GauntForceField(["H", "O"], **settings["model"]).float().train()
    frames = read_frames(DATA / "water" / "train.xyz", "energy", "forces", None)[: 2 * batches]
    graphs = [labelled_graph(f, model.config.r_max, model.species_of, torch.float32) for f in frames]
    data = [Batch.from_data_list(graphs[i : i + 2]) for i in range(0, len(graphs), 2)]
    weights = {"energy": 1.0, "forces": 100.0, "stress": 1.0}
    steps, first_s = {}, {}
    for kind in ("blocked", "whole"):
        step = steps[kind] = train_step.CompiledStep(model, 2, echo=lambda *a: None)
        first_s[kind] = timed_first(kind, train_step, partial(step, data[0], weights))
        if None in steps[kind].calls.values():
            raise RuntimeError("the training step did not compile")
    calls = {
        "blocked": lambda b: steps["blocked"](b, weights),
        "whole": lambda b: steps["whole"](b, weights),
        "eager": lambda b: train_step.eager_loss_and_gradients(model, b, weights),
    }
    times: dict[str, list[float]] = {k: [] for k in calls}
    for r in range(rounds + 1):  # the first round warms up
        for kind, call in calls.items():
            start = time.perf_counter()
            for b in data:
                call(b)
            if r:
                times[kind].append(1e3 * (time.perf_counter() - start) / len(data))
    return {**summary(times), "first_call_s": first_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["force", "training"], nargs="+", default=["force", "training"])
    args = parser.parse_args()
    output = ROOT / "benchmarks" / "results" / "traced_blocks.json"
    results = json.loads(output.read_text()) if output.is_file() else {}
    stamp = {"torch": torch.__version__, "time": time.strftime("%Y-%m-%d %H:%M")}
    if "force" in args.part:
        torch.set_num_threads(THREADS)
        rows = {}
        for name, (file, elements, supercell, calls) in SYSTEMS.items():
            rows[name] = measure(file, elements, supercell, calls)
            print(name, json.dumps(rows[name]), flush=True)
        results["force"] = {"meta": {**stamp, "threads": THREADS}, **rows}
    if "training" in args.part:
        results["training"] = {"meta": {**stamp, "threads": 1}, "water 64 H2O (192 atoms)": measure_training()}
        print(json.dumps(results["training"]), flush=True)
    output.write_text(json.dumps(results, indent=2))
    write_docs(results)


def write_docs(results: dict) -> None:
    meta, rows = results["force"]["meta"], {k: v for k, v in results["force"].items() if k != "meta"}
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
    if "training" in results:
        t = results["training"]
        row = t["water 64 H2O (192 atoms)"]
        lines += [
            "",
            f"The compiled training step of `gaunt-md fit --compile` ({t['meta']['time']}, `--part training`): loss and "
            "gradients of a batch of 2 frames of liquid water (192 atoms each) in gaunt-water's settings, one thread, "
            "traced both ways, medians over 5 rounds of 4 batches after a warm-up round.",
            "",
            "| system | blocked ms/batch | whole ms/batch | speed-up | eager ms/batch | whole vs eager | first step s "
            "(blocked, whole) |",
            "|---|---|---|---|---|---|---|",
            f"| water 64 H2O, batch of 2 | {row['blocked_ms']:.1f} | {row['whole_ms']:.1f} | {row['speedup']:.2f}x | "
            f"{row['eager_ms']:.1f} | {row['whole_vs_eager']:.2f}x | {row['first_call_s']['blocked']:.0f}, "
            f"{row['first_call_s']['whole']:.0f} |",
        ]
    write_section(ROOT / "docs" / "performance.md", "traced_blocks", "Blocks in compiled graphs", lines)


if __name__ == "__main__":
    main()
