"""Force-call throughput of GauntCalculator against MACE at matched sizes, interleaved in one run.

Both sides: 128 channels, hidden L=1, spherical harmonics / density L=3, correlation 3, 2 layers,
r_max 5 Å, float32, random weights (speed does not depend on their values), CPU threads as given.
One call = energy + forces, plus stress for periodic systems, on a structure whose neighbour list
the calculator has to rebuild (as in MD). GauntCalculator keeps large allocations in the heap
(``gaunt_md.allocator``); MACE is timed as shipped and, for a like-for-like ratio, a second time with
the same glibc settings given as environment variables. MACE (mace-torch 0.3.16, which pins e3nn
0.4.4) runs in its own virtual environment:

    python -m venv benchmarks/_work/mace-venv
    benchmarks/_work/mace-venv/bin/pip install torch==2.13.0 mace-torch==0.3.16

One more contender replays only the matrix products (mm, bmm) of one gaunt-md force call,
back to back, with no other operator and no Python around them: the arithmetic floor of the model as
written, on this CPU. MACE's time over it is the highest speed-up those products leave room for.
The per-atom cost growth from 192 to 1536 atoms is measured apart, in rounds that time both water
boxes back to back (a paired ratio per round).

Rerun: ``python benchmarks/speed.py [--mace-python PATH]``. Writes
``benchmarks/results/speed.json`` and the table in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

import torch
from _docs import write_section
from ase.io import read
from torch.utils._python_dispatch import TorchDispatchMode

from gaunt_md import GauntCalculator, GauntForceField

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYSTEMS = [  # name, file, frame, supercell, calls per timed block: gaunt-md, MACE (blocks of ≥ 0.2 s), repeats
    # small systems get more repeats: their blocks last about a second, so the load of this shared machine
    # changes between blocks more than within one, and a median over more blocks is steadier
    ("acac (15 atoms)", DATA / "acac" / "test_MD_300K.xyz", 0, [1, 1, 1], 20, 5, 25),
    ("water 64 H2O (192 atoms)", DATA / "water" / "test.xyz", 0, [1, 1, 1], 5, 1, 9),
    ("water 512 H2O (1536 atoms)", DATA / "water" / "test.xyz", 0, [2, 2, 2], 3, 1, 5),
]
WARMUP_ROUNDS = 2  # MACE's TorchScript modules specialise during their first calls
SETTLE_S = 0.5  # pause before each block: the previous process's idle OpenMP threads stop spinning
SAME_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": str(2**31 - 1),
    "MALLOC_TRIM_THRESHOLD_": str(2**31 - 1),
    "MALLOC_TOP_PAD_": str(256 << 20),
}


def read_reply(stream) -> dict:
    """Next JSON line from the MACE worker (MACE prints log lines of its own to stdout)."""
    for line in stream:
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("the MACE worker stopped; run it by hand to see why")


def gaunt_calls(calc: GauntCalculator, atoms, calls: int) -> float:
    """Mean seconds per force call over ``calls`` calls, each recomputing everything."""
    atoms = atoms.copy()
    atoms.calc = calc
    t0 = time.perf_counter()
    for _ in range(calls):
        calc.reset()
        atoms.get_forces()
        if atoms.pbc.all():
            atoms.get_stress()
    return (time.perf_counter() - t0) / calls


class MatrixProducts(TorchDispatchMode):
    """Records the matrix products one force call dispatches (forward and backward), with copies of
    their operands, so they can be rerun alone."""

    KINDS = {"mm", "bmm", "addmm", "baddbmm", "addbmm"}

    def __init__(self) -> None:
        super().__init__()
        self.calls: list = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket.__name__ in self.KINDS:
            copy = lambda v: v.clone() if isinstance(v, torch.Tensor) else v  # noqa: E731
            self.calls.append((func, [copy(a) for a in args], {k: copy(v) for k, v in kwargs.items()}))
        return func(*args, **kwargs)


def matrix_products_of(calc: GauntCalculator, atoms):
    """A function that reruns the matrix products of one force call of ``calc`` on ``atoms``."""
    recorder = MatrixProducts()
    with recorder:
        gaunt_calls(calc, atoms, 1)

    def replay(calls: int) -> float:
        t0 = time.perf_counter()
        for _ in range(calls):
            for func, args, kwargs in recorder.calls:
                func(*args, **kwargs)
        return (time.perf_counter() - t0) / calls

    return replay


def per_atom_growth(calc: GauntCalculator, small, large, rounds: int = 9) -> list[float]:
    """Cost per atom of ``large`` over that of ``small``, one ratio per round; each round times a block
    of each back to back, so the slow swings in this shared machine's load cancel in the ratio."""
    ratios = []
    for i in range(rounds + 1):  # the first round warms up
        time.sleep(SETTLE_S)
        t_small = gaunt_calls(calc, small, 5) / len(small)
        time.sleep(SETTLE_S)
        t_large = gaunt_calls(calc, large, 1) / len(large)
        if i:
            ratios.append(t_large / t_small)
    return ratios


def write_docs(results: list[dict], growth_ratios: list[float], threads: int, path: Path) -> None:
    lines = [
        f"Force call (energy + forces, + stress when periodic), float32, {threads} CPU threads, matched sizes",
        "(128 channels, hidden L=1, L=3, correlation 3, 2 layers, r_max 5 Å). Each repeat times a block of calls",
        f"per contender (mean per call), the contenders in turn after a {SETTLE_S} s pause; the table shows medians",
        f"over repeats ({', '.join(str(r['repeats']) for r in results)} for the systems in order), after {WARMUP_ROUNDS} warm-up rounds.",
        "Rerun: `python benchmarks/speed.py`.",
        "",
        "MACE+malloc: MACE with the allocator settings gaunt-md applies. Peak memory: resident set size",
        "of each process so far (it includes the Python interpreter and libraries). gaunt-md is timed as users",
        "run it, through `GauntCalculator`, which runs a copy of the model rewritten for inference (radial functions from",
        "tables, consecutive linear maps multiplied into one: `docs/architecture.md`).",
        "",
        "Matrix products: the mm/bmm operators of one gaunt-md force call replayed alone, back to back (the",
        "arithmetic floor of the model as written); MACE / products is the most speed-up those products leave room for.",
        "",
        "| system | MACE s/call | MACE+malloc s/call | gaunt-md s/call | speed-up vs MACE | vs MACE+malloc | gaunt-md µs/atom | peak MB gaunt-md / MACE | matrix products s/call | MACE / products |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['system']} | {r['mace_s']:.3f} | {r['mace_malloc_s']:.3f} | {r['gaunt_s']:.4f} | "
            f"{r['mace_s'] / r['gaunt_s']:.1f}x | {r['mace_malloc_s'] / r['gaunt_s']:.1f}x | "
            f"{1e6 * r['gaunt_s'] / r['atoms']:.0f} | {r['gaunt_maxrss_mb']:.0f} / {r['mace_maxrss_mb']:.0f} | "
            f"{r['products_s']:.4f} | {r['mace_s'] / r['products_s']:.1f}x |"
        )
    per_atom = [r["gaunt_s"] / r["atoms"] for r in results]
    growth = statistics.median(growth_ratios)
    worst = min(r["speedup"] for r in results)
    worst_same = min(r["speedup_same_malloc"] for r in results)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines += [
        "",
        "Targets:",
        f"- ≥ 20x MACE's atom-steps per second on every system: {verdict(worst >= 20)} "
        f"(lowest {worst:.1f}x against MACE as shipped, {worst_same:.1f}x against MACE+malloc).",
        f"- Cost per atom at 1536 atoms within 1.1x of 192 atoms: {verdict(growth <= 1.1)} ({growth:.2f}x, the median of "
        f"{len(growth_ratios)} rounds that time the two boxes back to back; the table's medians, taken minutes apart, give "
        f"{per_atom[-1] / per_atom[1]:.2f}x).",
    ]
    for r in results:
        if r["speedup"] < 20:
            budget = r["mace_s"] / 20
            lines.append(
                f"- {r['system']}: 20x MACE means {budget:.4f} s per call. The model's matrix products alone take "
                f"{r['products_s']:.4f} s ({100 * r['products_s'] / budget:.0f}% of that), so everything else in a call (neighbour "
                f"list, graph, the other operators, Python) would have to take "
                + (
                    f"{budget - r['products_s']:.4f} s; it takes {r['gaunt_s'] - r['products_s']:.4f} s."
                    if budget > r["products_s"]
                    else "less than nothing: with these matrix products 20x is out of reach here."
                )
            )
    write_section(path, "speed", "Force field vs MACE", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mace-python", default=str(ROOT / "benchmarks" / "_work" / "mace-venv" / "bin" / "python"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "speed.json"))
    parser.add_argument("--docs", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = ROOT / "benchmarks" / "_work"
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    workers = {}
    for key, extra in (("mace", {}), ("mace_malloc", SAME_MALLOC)):
        workers[key] = subprocess.Popen(
            [
                args.mace_python,
                str(ROOT / "benchmarks" / "_mace_worker.py"),
                str(work / f"{key}.model"),
                str(args.threads),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**env, **extra},
        )
        assert read_reply(workers[key].stdout)["ready"]
    model = GauntForceField(elements=["H", "C", "O"])
    calc = GauntCalculator(model, device="cpu", dtype="float32")
    results = []
    for name, file, index, repeat, calls, mace_calls, repeats in SYSTEMS:
        atoms = read(file, index).repeat(repeat)
        times = {"gaunt": [], "products": [], "mace": [], "mace_malloc": []}
        gaunt_calls(calc, atoms, 1)
        gaunt_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the replay's copies
        products = matrix_products_of(calc, atoms)
        replies = {}
        for i in range(WARMUP_ROUNDS + repeats):
            time.sleep(SETTLE_S)
            t_ours = gaunt_calls(calc, atoms, calls)
            time.sleep(SETTLE_S)
            t_products = products(calls)
            for key, worker in workers.items():
                time.sleep(SETTLE_S)
                worker.stdin.write(
                    json.dumps({"file": str(file), "index": index, "repeat": repeat, "calls": mace_calls}) + "\n"
                )
                worker.stdin.flush()
                replies[key] = read_reply(worker.stdout)
                if i >= WARMUP_ROUNDS:
                    times[key].append(replies[key]["seconds"])
            if i >= WARMUP_ROUNDS:
                times["gaunt"].append(t_ours)
                times["products"].append(t_products)
        row = {
            "system": name,
            "atoms": len(atoms),
            "calls_per_block": {"gaunt": calls, "mace": mace_calls},
            "repeats": repeats,
        }
        for key, values in times.items():
            row[f"{key}_s"] = statistics.median(values)
            row[f"{key}_all_s"] = values
        row["mace_maxrss_mb"] = replies["mace"]["maxrss_mb"]
        row["mace_malloc_maxrss_mb"] = replies["mace_malloc"]["maxrss_mb"]
        row["gaunt_maxrss_mb"] = gaunt_rss_mb
        row["speedup"] = row["mace_s"] / row["gaunt_s"]
        row["speedup_same_malloc"] = row["mace_malloc_s"] / row["gaunt_s"]
        results.append(row)
        del products  # its copies of the operands must not count in the next system's peak memory
        print(
            f"{name}: MACE {row['mace_s']:.3f} s, MACE+malloc {row['mace_malloc_s']:.3f} s, gaunt-md {row['gaunt_s']:.4f} s: "
            f"{row['speedup']:.1f}x / {row['speedup_same_malloc']:.1f}x; matrix products alone {row['products_s']:.4f} s",
            flush=True,
        )
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()
    (_, small_file, small_index, small_repeat, *_), (_, large_file, large_index, large_repeat, *_) = SYSTEMS[1:]
    growth = per_atom_growth(
        calc, read(small_file, small_index).repeat(small_repeat), read(large_file, large_index).repeat(large_repeat)
    )
    print(f"cost per atom, 1536 over 192 atoms (paired rounds): {statistics.median(growth):.2f}x", flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "threads": args.threads, "time": time.strftime("%Y-%m-%d %H:%M")}
    Path(args.output).write_text(
        json.dumps({"meta": meta, "results": results, "per_atom_growth_ratios": growth}, indent=2)
    )
    write_docs(results, growth, args.threads, Path(args.docs))


if __name__ == "__main__":
    main()
