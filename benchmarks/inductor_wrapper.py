"""Inductor's Python against its C++ wrapper for gaunt-md's compiled force calls and training steps (CPU).

A compiled graph is kernels and matrix products called in order by a wrapper that allocates their
buffers; inductor writes that wrapper in Python unless ``cpp_wrapper`` is set. ``gaunt_md.compiled.
compile_graph`` sets it on CPU. This script compiles the same traced graphs both ways in one process
and times them interleaved, one thread (as gaunt-md runs molecules of up to 32 atoms and as the shipped
fits train): the force call of ethanol, acac and 3bpa (the default model, float32, random weights) and
the training step of a batch of 2 (acac with hidden_lmax 3 as gaunt-acac trains, 3bpa with the
default). Reported: median ms over interleaved rounds, the median of the per-round ratios, compile
seconds, and the largest force or gradient difference between the two. Run it on a quiet machine.

    python benchmarks/inductor_wrapper.py   # ~8 min: benchmarks/results/inductor_wrapper.json, docs/performance.md
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from ase.io import read
from torch_geometric.data import Batch

import gaunt_md.train.step as train_step
from gaunt_md import GauntForceField
from gaunt_md.compiled import bucket, compile_graph, graph_sizes, padded_inputs, trace
from gaunt_md.data import atoms_to_graph, batch_graphs, read_frames
from gaunt_md.train.graphs import labelled_graph

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MOLECULES = {  # name: (file, frame, elements, hidden_lmax of the training-step model)
    "ethanol (9 atoms)": (DATA / "ethanol" / "test_MD.xyz", 0, ["H", "C", "O"], None),
    "acac (15 atoms)": (DATA / "acac" / "test_MD_300K.xyz", 0, ["H", "C", "O"], 3),
    "3bpa (27 atoms)": (DATA / "3bpa" / "train_300K.xyz", 0, ["H", "C", "N", "O"], 2),
}
WEIGHTS = {"energy": 1.0, "forces": 100.0, "stress": 1.0}
ROUNDS, CALLS, BATCHES = 15, 40, 10


def python_wrapper(traced: torch.fx.GraphModule, inputs: tuple, backend: str = "inductor"):
    """``compile_graph`` as it was before the C++ wrapper."""
    leaves = [x.detach() for x in torch.utils._pytree.tree_leaves(inputs)]
    with torch.no_grad(), torch._inductor.config.patch(cpp_wrapper=False):
        return torch._inductor.compile(traced, leaves)


def interleaved(contenders: dict, rounds: int) -> dict:
    """Median ms per call of each contender (a function of no arguments timing one block, returning
    its call count) over interleaved rounds, and the median per-round ratio python / cpp."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds + 1):  # the first round warms up
        for name, block in contenders.items():
            t0 = time.perf_counter()
            calls = block()
            times[name].append(1e3 * (time.perf_counter() - t0) / calls)
    times = {k: v[1:] for k, v in times.items()}
    ratios = [p / c for p, c in zip(times["python"], times["cpp"])]
    return {**{f"{k}_ms": statistics.median(v) for k, v in times.items()}, "ratio": statistics.median(ratios)}


def force_call(name: str) -> dict:
    file, frame, _, _ = MOLECULES[name]
    torch.manual_seed(0)
    model = GauntForceField(["H", "C", "N", "O"]).for_inference().float()
    graph = batch_graphs([atoms_to_graph(read(file, frame), model.config.r_max, model.species_of, torch.float32)])
    edges, width = graph_sizes(graph)
    inputs = padded_inputs(graph, model.config, bucket(edges), bucket(width))
    calls, compile_s = {}, {}
    for kind, compile_ in (("python", python_wrapper), ("cpp", compile_graph)):
        t0 = time.perf_counter()
        calls[kind] = compile_(trace(model, inputs, False), inputs, "inductor")
        calls[kind](*inputs)
        compile_s[kind] = time.perf_counter() - t0
    difference = (calls["python"](*inputs)[2] - calls["cpp"](*inputs)[2]).abs().max().item()

    def block(call):
        for _ in range(CALLS):
            call(*inputs)
        return CALLS

    row = interleaved({k: (lambda c=c: block(c)) for k, c in calls.items()}, ROUNDS)
    return row | {f"{k}_compile_s": v for k, v in compile_s.items()} | {"max_difference": difference}


def training_step(name: str) -> dict:
    file, _, elements, hidden_lmax = MOLECULES[name]
    torch.manual_seed(0)
    model = GauntForceField(elements, hidden_lmax=hidden_lmax).float().train()
    frames = read_frames(file, "energy", "forces", None)[: 2 * BATCHES]
    graphs = [labelled_graph(f, model.config.r_max, model.species_of, torch.float32) for f in frames]
    batches = [Batch.from_data_list(graphs[i : i + 2]) for i in range(0, len(graphs), 2)]
    steps, compile_s, grads = {}, {}, {}
    for kind, compile_ in (("python", python_wrapper), ("cpp", compile_graph)):
        train_step.compile_graph = compile_  # CompiledStep compiles through this name
        try:
            steps[kind] = train_step.CompiledStep(model, 2, echo=lambda *a: None)
            t0 = time.perf_counter()
            steps[kind](batches[0], WEIGHTS)
            compile_s[kind] = time.perf_counter() - t0
            steps[kind](batches[0], WEIGHTS)  # the first step left the eager gradients: this one the compiled
        finally:
            train_step.compile_graph = compile_graph
        grads[kind] = [p.grad.clone() for p in model.parameters()]
    if any(call is None for s in steps.values() for call in s.calls.values()):
        raise RuntimeError("a training step did not compile")
    difference = max((a - b).abs().max().item() for a, b in zip(grads["python"], grads["cpp"]))

    def block(step):
        for b in batches:
            step(b, WEIGHTS)
        return len(batches)

    row = interleaved({k: (lambda s=s: block(s)) for k, s in steps.items()}, ROUNDS // 2)
    return row | {f"{k}_compile_s": v for k, v in compile_s.items()} | {"max_difference": difference}


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for name in MOLECULES:
        for what, measure in (("force call", force_call), ("training step, batch of 2", training_step)):
            if what.startswith("training") and MOLECULES[name][3] is None:
                continue
            rows.append({"system": name, "what": what, **measure(name)})
            print(json.dumps(rows[-1]), flush=True)
    meta = {"torch": torch.__version__, "threads": 1, "time": time.strftime("%Y-%m-%d %H:%M")}
    out = ROOT / "benchmarks" / "results" / "inductor_wrapper.json"
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    lines = [
        f"`python benchmarks/inductor_wrapper.py` ({meta['time']}, torch {meta['torch']}, float32, one thread): the "
        "same traced graphs compiled by inductor with its Python wrapper and with the C++ wrapper that "
        "`gaunt_md.compiled.compile_graph` uses on CPU, timed interleaved in one process (median over rounds; "
        "ratio: the median of the per-round ratios). Force call: the default model with random weights; training "
        "step: loss and gradients of a batch of 2 (acac with hidden_lmax 3, as gaunt-acac trains). Difference: the "
        "largest difference of forces (eV/Å) or gradients between the two.",
        "",
        "| system | what | Python wrapper ms | C++ wrapper ms | speed-up | compile s (Python, C++) | difference |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['system']} | {r['what']} | {r['python_ms']:.2f} | {r['cpp_ms']:.2f} | {r['ratio']:.2f}x | "
            f"{r['python_compile_s']:.0f}, {r['cpp_compile_s']:.0f} | {r['max_difference']:.1e} |"
            for r in rows
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "inductor_wrapper", "Inductor's C++ wrapper", lines)


if __name__ == "__main__":
    main()
