"""Where the time of a small-molecule force call goes (acetylacetone, 15 atoms), and what torch.compile does to it.

Same model as ``benchmarks/speed.py`` (random weights, 128 channels, L=3, hidden L=1, correlation 3,
2 layers, float32, tabulated radial functions, as GauntCalculator runs it), CPU threads as given.
Times, as medians over rounds that time a block of calls of each part in turn:

- ``calculator``: ``atoms.get_forces()`` through GauntCalculator (neighbour list, graph, model, copies);
- ``graph``: neighbour list and graph only (``atoms_to_graph`` + ``batch_graphs``);
- ``forward``: the model's energy without forces (inference mode);
- ``forward_backward``: energy and forces (autograd), the model part of a force call;
- ``compiled_forward_backward``: the same through ``torch.compile(model, dynamic=True)`` (inductor,
  C++ kernels), after a first call whose compile time is reported.

It also counts the aten operators one force call dispatches (forward and backward; tensors of a few
kB at 15 atoms) and gives the average time per operator.
Rerun: ``python benchmarks/profile_small.py``; writes ``benchmarks/results/profile_small.json`` and
the section ``profile`` of ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from ase.io import read
from torch.utils._python_dispatch import TorchDispatchMode

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import atoms_to_graph, batch_graphs

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT.parent / "shared" / "data" / "acac" / "test_MD_300K.xyz"
RESULTS = ROOT / "benchmarks" / "results" / "profile_small.json"
DOCS = ROOT / "docs" / "performance.md"


class CountOps(TorchDispatchMode):
    """Counts the aten operators dispatched while active (after autograd, so backward ops too)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def interleaved(parts: dict, calls: int, repeats: int) -> dict[str, float]:
    """Median over ``repeats`` rounds of the mean seconds per call of each part; every round times a
    block of ``calls`` calls of each part in turn, so load on this shared machine hits all alike."""
    blocks = {name: [] for name in parts}
    for fn in parts.values():
        fn()
    for _ in range(repeats):
        for name, fn in parts.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            blocks[name].append((time.perf_counter() - t0) / calls)
    return {name: statistics.median(b) for name, b in blocks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    calc = GauntCalculator(GauntForceField(elements=["H", "C", "O"]), device="cpu", dtype="float32")
    model = calc.model
    atoms = read(FILE, 0)
    atoms.calc = calc

    def calculator() -> None:
        calc.reset()
        atoms.get_forces()

    def graph():
        return batch_graphs([atoms_to_graph(atoms, model.config.r_max, model.species_of, dtype=torch.float32)])

    g = graph()

    def forward() -> None:
        with torch.inference_mode():
            model(g, compute_forces=False)

    def forward_backward(m=model) -> torch.Tensor:
        return m(g, compute_forces=True)["forces"]

    counter = CountOps()
    with counter:
        forward_backward()
    ops = sum(counter.counts.values())
    print(f"aten operators per force call: {ops}", flush=True)
    compiled = torch.compile(model, dynamic=True)
    t0 = time.perf_counter()
    forces = forward_backward(compiled)
    compile_s = time.perf_counter() - t0
    deviation = float((forces - forward_backward()).abs().max())
    print(f"torch.compile: {compile_s:.0f} s, max |ΔF| {deviation:.1e} eV/Å", flush=True)
    parts = {
        "calculator": calculator,
        "graph": graph,
        "forward": forward,
        "forward_backward": forward_backward,
        "compiled_forward_backward": lambda: forward_backward(compiled),
    }
    times = interleaved(parts, args.calls, args.repeats)
    for name, seconds in times.items():
        print(f"{name}: {1e3 * seconds:.2f} ms", flush=True)

    speed = json.loads((ROOT / "benchmarks" / "results" / "speed.json").read_text())
    acac = next(r for r in speed["results"] if r["system"].startswith("acac"))
    result = {
        "meta": {"torch": torch.__version__, "threads": args.threads, "time": time.strftime("%Y-%m-%d %H:%M")},
        "seconds": times,
        "aten_ops_per_force_call": ops,
        "top_ops": counter.counts.most_common(12),
        "compile_seconds": compile_s,
        "compiled_max_force_deviation": deviation,
        "mace_acac_s_from_speed_json": acac["mace_s"],
        "products_acac_s_from_speed_json": acac["products_s"],
    }
    RESULTS.write_text(json.dumps(result, indent=2))
    write_docs(result, DOCS)


def write_docs(r: dict, path: Path) -> None:
    t = {k: 1e3 * v for k, v in r["seconds"].items()}
    ratio = t["compiled_forward_backward"] / t["forward_backward"]
    top = ", ".join(f"{name} {n}" for name, n in r["top_ops"][:8])
    lines = [
        f"One force call on acetylacetone (15 atoms), same model and settings as above, {r['meta']['threads']} threads "
        f"({r['meta']['time']}). Rerun: `python benchmarks/profile_small.py`.",
        "",
        "| part | ms per call |",
        "|---|---:|",
        f"| `atoms.get_forces()` through GauntCalculator | {t['calculator']:.2f} |",
        f"| neighbour list and graph | {t['graph']:.2f} |",
        f"| model, energy only | {t['forward']:.2f} |",
        f"| model, energy and forces | {t['forward_backward']:.2f} |",
        f"| model, energy and forces, `torch.compile(dynamic=True)` | {t['compiled_forward_backward']:.2f} "
        f"(after {r['compile_seconds']:.0f} s of compilation) |",
        "",
        f"A force call dispatches {r['aten_ops_per_force_call']} aten operators (most: {top}), on tensors of a few kB: "
        f"{1e3 * t['forward_backward'] / r['aten_ops_per_force_call']:.1f} µs per operator on average in the model part. "
        f"Its matrix products alone, replayed without anything else, take {1e3 * r['products_acac_s_from_speed_json']:.1f} ms "
        f"(table above); the rest is the other operators and the Python around them. Absolute times move between runs on "
        f"this shared machine (compare the calculator row with the table above); 20x MACE's "
        f"{1e3 * r['mace_acac_s_from_speed_json']:.0f} ms (table above) would need {50 * r['mace_acac_s_from_speed_json']:.2f} ms "
        f"per call. torch.compile makes the model part {ratio:.2f}x its eager time"
        + (
            ": it breaks the graph where the neighbour table's width is read from the data (`Tensor.item()` in "
            "`gaunt_md/nn/gather.py`), so the call runs in compiled pieces, and gaunt-md does not use it."
            if ratio > 0.8
            else "."
        ),
    ]
    write_section(path, "profile", "Small molecules: where the time goes", lines)


if __name__ == "__main__":
    main()
