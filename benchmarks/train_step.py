"""Training-step time of ``gaunt-md fit``, eager against ``--compile`` (``gaunt_md.train.step``).

For each system (ethanol, acac, 3bpa: their training files, the default model in float32, batch size
2, one thread as the shipped fits run), the compiled step is built first (its compile time is
reported), then eager and compiled steps alternate over the same batches in rounds after a warm-up
round: loss and gradients of a batch, the optimiser, clipping and EMA left out (they are the same
eager code in both). Reported: the median over rounds of the ms per batch, and of the per-round ratio.
Run it on a quiet machine.

    python benchmarks/train_step.py      # ~5 min: benchmarks/results/train_step.json, a table in docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from torch_geometric.data import Batch

from gaunt_md import GauntForceField
from gaunt_md.data import read_frames
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.step import CompiledStep, eager_loss_and_gradients

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYSTEMS = {  # name: (training file, elements)
    "ethanol (9 atoms)": (DATA / "ethanol" / "train.xyz", ["H", "C", "O"]),
    "acac (15 atoms)": (DATA / "acac" / "train_300K.xyz", ["H", "C", "O"]),
    "3bpa (27 atoms)": (DATA / "3bpa" / "train_300K.xyz", ["H", "C", "N", "O"]),
}
WEIGHTS = {"energy": 1.0, "forces": 100.0, "stress": 1.0}
BATCH, BATCHES, ROUNDS = 2, 10, 7


def measure(file: Path, elements: list[str]) -> dict:
    torch.manual_seed(0)
    model = GauntForceField(elements).float().train()
    frames = read_frames(file, "energy", "forces", None)[: BATCH * BATCHES]
    graphs = [labelled_graph(f, model.config.r_max, model.species_of, torch.float32) for f in frames]
    batches = [Batch.from_data_list(graphs[i : i + BATCH]) for i in range(0, len(graphs), BATCH)]
    step = CompiledStep(model, BATCH, echo=lambda *a: None)
    t0 = time.perf_counter()
    step(batches[0], WEIGHTS)
    compile_s = time.perf_counter() - t0
    if None in step.calls.values():
        raise RuntimeError("the training step did not compile")
    contenders = {
        "eager": lambda b: eager_loss_and_gradients(model, b, WEIGHTS),
        "compiled": lambda b: step(b, WEIGHTS),
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for r in range(ROUNDS + 1):
        for name, call in contenders.items():
            t0 = time.perf_counter()
            for b in batches:
                call(b)
            if r:  # round 0 warms up
                times[name].append(1e3 * (time.perf_counter() - t0) / len(batches))
    ratios = [e / c for e, c in zip(times["eager"], times["compiled"])]
    return {
        "eager_ms": statistics.median(times["eager"]),
        "compiled_ms": statistics.median(times["compiled"]),
        "speedup": statistics.median(ratios),
        "compile_s": compile_s,
        "keys": len(step.calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = {}
    for name, (file, elements) in SYSTEMS.items():
        rows[name] = measure(file, elements)
        print(name, json.dumps(rows[name]), flush=True)
    meta = {"torch": torch.__version__, "threads": args.threads, "time": time.strftime("%Y-%m-%d %H:%M")}
    (ROOT / "benchmarks" / "results" / "train_step.json").write_text(json.dumps({"meta": meta, **rows}, indent=2))
    lines = [
        f"Loss and gradients of one batch of {BATCH} structures (the default model, float32, {args.threads} thread(s), "
        f"{meta['time']}), eager against `gaunt-md fit --compile`: medians over {ROUNDS} interleaved rounds of "
        f"{BATCHES} batches. Rerun: `python benchmarks/train_step.py`. Compile s: the first step's trace and "
        "compilation, shorter where inductor's on-disk cache already held the graph from an earlier run of the same "
        "shapes (the acac fit compiled its shape from scratch in 75 s beside another fit).",
        "",
        "| system | eager ms/batch | compiled ms/batch | speed-up | compile s |",
        "|---|---|---|---|---|",
        *(
            f"| {n} | {r['eager_ms']:.1f} | {r['compiled_ms']:.1f} | {r['speedup']:.2f}x | {r['compile_s']:.0f} |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "train_step", "Training steps: eager and compiled", lines)


if __name__ == "__main__":
    main()
