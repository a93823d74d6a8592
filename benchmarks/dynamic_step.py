"""Training steps of a set of many sizes: eager, a graph per shape, and one graph for all sizes.

``gaunt-md fit --compile`` compiles a graph per shape for a set of one atom count
(``gaunt_md.train.step.CompiledStep``) and one graph with dynamic atom and edge counts for a set of
many (``gaunt_md.train.dynamic.DynamicStep``). For mlearn Ni (gaunt-mlearn-Ni's model settings,
float32, stress in the loss, one thread) it times loss and gradients of batches of 2 over:
- "mixed": the first batches of the shuffled training file, as a fit meets them (AIMD cells, slabs,
  vacancies, strained cells of several sizes): eager against the dynamic graph;
- "216 atoms": pairs of AIMD cells, one shape: eager, that shape's own graph, the dynamic graph;
and for acac (gaunt-acac's settings, one molecule, so one shape) the same three. Medians over
interleaved rounds after a warm-up round; ratios are the medians of per-round ratios; compile s: the
first step's trace and compilation (each graph compiled in this process, inductor's cache cold or
not). Run it on a quiet machine.

    python benchmarks/dynamic_step.py   # ~10 min: benchmarks/results/dynamic_step.json, docs/performance.md
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from torch_geometric.data import Batch

from gaunt_md import GauntForceField
from gaunt_md.data import read_frames
from gaunt_md.train.dynamic import DynamicStep, table_width
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.step import CompiledStep, eager_loss_and_gradients

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BATCHES, ROUNDS = 12, 3


def settings(name: str) -> dict:
    return json.loads((ROOT / "models" / f"{name}.json").read_text())["training"]["config"]


def setup(name: str, file: Path, stress: str | None, pick=None) -> tuple:
    cfg = settings(name)
    frames = read_frames(file, "energy", "forces", stress, stress_offset=cfg["stress_offset"])
    elements = sorted({s for f in frames for s in f.atoms.get_chemical_symbols()})
    torch.manual_seed(0)
    model = GauntForceField(elements, **cfg["model"]).float().train()
    graphs = [labelled_graph(f, model.config.r_max, model.species_of, torch.float32) for f in frames]
    weights = {"energy": cfg["energy_weight"], "forces": cfg["forces_weight"], "stress": cfg["stress_weight"]}
    return model, graphs, frames, weights


def timed(contenders: dict, batches: list, weights: dict) -> dict:
    """Compile each contender on the first batch, then time them in interleaved rounds."""
    compile_s = {}
    for name, step in contenders.items():
        start = time.perf_counter()
        for b in batches[:2]:  # a graph per shape compiles at its shape's second sighting
            step(b, weights)
        compile_s[name] = time.perf_counter() - start
        if not step.calls or None in step.calls.values():
            raise RuntimeError(f"{name} did not compile")
    times = {name: [] for name in ["eager", *contenders]}
    calls = {"eager": None, **contenders}
    for r in range(ROUNDS + 1):
        for name, step in calls.items():
            start = time.perf_counter()
            for b in batches:
                if step is None or step(b, weights) is None:
                    eager_loss_and_gradients(step.model if step else model_of(contenders), b, weights)
            if r:
                times[name].append(1e3 * (time.perf_counter() - start) / len(batches))
    out = {f"{n}_ms": statistics.median(t) for n, t in times.items()}
    for name in contenders:
        out[f"{name}_speedup"] = statistics.median(e / c for e, c in zip(times["eager"], times[name]))
        out[f"{name}_compile_s"] = compile_s[name]
        out[f"{name}_eager_batches"] = sum(contenders[name](b, weights) is None for b in batches)
    return out


def model_of(contenders: dict):
    return next(iter(contenders.values())).model


def pairs(graphs: list, seed: int | None = 0) -> list:
    order = list(range(len(graphs)))
    if seed is not None:
        random.Random(seed).shuffle(order)
    return [Batch.from_data_list([graphs[i], graphs[j]]) for i, j in zip(order[0::2], order[1::2])][:BATCHES]


def main() -> None:
    torch.set_num_threads(1)
    quiet = {"echo": lambda *a: None}
    rows = {}
    model, graphs, frames, weights = setup("gaunt-mlearn-Ni", DATA / "mlearn" / "Ni" / "train.xyz", "stress")
    width = table_width(graphs)
    dynamic = DynamicStep(model, 2, width, **quiet)
    rows["mlearn Ni, mixed sizes"] = timed({"dynamic": dynamic}, pairs(graphs), weights)
    print(json.dumps(rows), flush=True)
    aimd = [g for g, f in zip(graphs, frames) if f.config_type == "AIMD-NVT" and len(f.atoms) == 108]
    per_shape = CompiledStep(model, 2, **quiet)
    rows["mlearn Ni, 216 atoms"] = timed({"per shape": per_shape, "dynamic": dynamic}, pairs(aimd), weights)
    print(json.dumps(rows), flush=True)
    model, graphs, _, weights = setup("gaunt-acac", DATA / "acac" / "train_300K.xyz", None)
    contenders = {
        "per shape": CompiledStep(model, 2, **quiet),
        "dynamic": DynamicStep(model, 2, table_width(graphs), **quiet),
    }
    rows["acac, 30 atoms"] = timed(contenders, pairs(graphs), weights)
    print(json.dumps(rows), flush=True)
    meta = {"torch": torch.__version__, "threads": 1, "time": time.strftime("%Y-%m-%d %H:%M")}
    (ROOT / "benchmarks" / "results" / "dynamic_step.json").write_text(json.dumps({"meta": meta, **rows}, indent=2))

    def cell(r: dict, name: str) -> str:
        if f"{name}_ms" not in r:
            return ""
        seconds = r[f"{name}_compile_s"]
        compiled = f"{seconds:.0f} s" if seconds > 1 else "compiled above"
        return f"{r[f'{name}_ms']:.1f} ({r[f'{name}_speedup']:.2f}x) [{compiled}]"

    lines = [
        f"Loss and gradients of one batch of 2 (float32, one thread, {meta['time']}; each model's shipped settings,"
        f" random weights): eager, a graph compiled per shape (`CompiledStep`, molecule sets) and one graph for"
        f" every atom and edge count (`DynamicStep`, sets of many sizes); ms per batch over {BATCHES} batches, medians"
        f" of {ROUNDS} interleaved rounds, speed-up over eager in brackets, the first steps' trace and compilation"
        " in square brackets. Rerun: `python benchmarks/dynamic_step.py`.",
        "",
        "| batches | eager ms | per shape | dynamic |",
        "|---|---|---|---|",
        *(f"| {n} | {r['eager_ms']:.1f} | {cell(r, 'per shape')} | {cell(r, 'dynamic')} |" for n, r in rows.items()),
    ]
    write_section(ROOT / "docs" / "performance.md", "dynamic_step", "Training steps of sets of many sizes", lines)


if __name__ == "__main__":
    main()
