"""Force-call throughput of GauntCalculator against MACE at matched sizes, interleaved in one run.

Both sides: 128 channels, hidden L as gaunt-md's default (2 since 0.3.0; MACE's hidden irreps
128x0e+128x1o+128x2e), spherical harmonics / density L=3, correlation 3, 2 layers, r_max 5 Å,
elements H, C, N, O, float32, random weights (speed does not depend on their values), CPU threads as given.
One call = energy + forces, plus stress for periodic systems, on a structure whose neighbour list
the calculator has to rebuild (as in MD). GauntCalculator keeps large allocations in the heap
(``gaunt_md.allocator``); MACE is timed as shipped and, for a like-for-like ratio, a second time with
the same glibc settings given as environment variables; each system starts its own MACE workers, and on
the large water boxes the two run one after the other, each with its own interleaved rounds beside
gaunt-md's contenders. The 1536-atom box is not in the default run: one MACE worker alone was killed for
memory there (``ONE_MACE_AT_A_TIME``). MACE (mace-torch 0.3.16, which pins e3nn
0.4.4) runs in its own virtual environment:

    python -m venv benchmarks/_work/mace-venv
    benchmarks/_work/mace-venv/bin/pip install torch==2.13.0 mace-torch==0.3.16

gaunt-md runs twice: eager (``GauntCalculator(model)``) and compiled (``compile=True``: static shapes,
traced and compiled by inductor, ``gaunt_md.compiled``); the compiled contender's first call, which
compiles, is timed apart (compile seconds). One more contender replays only the matrix products (mm, bmm) of one gaunt-md force call,
back to back, with no other operator and no Python around them: the arithmetic floor of the model as
written, on this CPU. MACE's time over it is the highest speed-up those products leave room for.
The per-atom cost growth from 192 to 1536 atoms is measured apart, in rounds that time both water
boxes back to back (a paired ratio per round).

Rerun: ``python benchmarks/speed.py [--systems acac ethanol ...] [--mace-python PATH]``. Rows merge
into ``benchmarks/results/speed.json`` by system (each row keeps its date); the table in
``docs/performance.md`` is written from all rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from _docs import write_section
from ase.data import atomic_numbers
from ase.io import read
from torch.utils._python_dispatch import TorchDispatchMode

from gaunt_md import GauntCalculator, GauntForceField

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYSTEMS = {  # key: name, file, frame, supercell, calls per timed block: gaunt-md, MACE (blocks of ≥ 0.2 s), repeats
    # small systems get more repeats: their blocks last about a second, so the load of this shared machine
    # changes between blocks more than within one, and a median over more blocks is steadier
    "ethanol": ("ethanol (9 atoms)", DATA / "ethanol" / "test_MD.xyz", 0, [1, 1, 1], 20, 5, 25),
    "acac": ("acac (15 atoms)", DATA / "acac" / "test_MD_300K.xyz", 0, [1, 1, 1], 20, 5, 25),
    "3bpa": ("3bpa (27 atoms)", DATA / "3bpa" / "train_300K.xyz", 0, [1, 1, 1], 10, 3, 15),
    "water192": ("water 64 H2O (192 atoms)", DATA / "water" / "test.xyz", 0, [1, 1, 1], 5, 1, 9),
    "water768": ("water 256 H2O (768 atoms)", DATA / "water" / "test.xyz", 0, [2, 2, 1], 3, 1, 5),
    "water1536": ("water 512 H2O (1536 atoms)", DATA / "water" / "test.xyz", 0, [2, 2, 2], 3, 1, 5),
}
ELEMENTS = ["H", "C", "N", "O"]
WARMUP_ROUNDS = 2  # MACE's TorchScript modules specialise during their first calls
SETTLE_S = 0.5  # pause before each block: the previous process's idle OpenMP threads stop spinning
SAME_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": str(2**31 - 1),
    "MALLOC_TRIM_THRESHOLD_": str(2**31 - 1),
    "MALLOC_TOP_PAD_": str(256 << 20),
}
MACE_KINDS = {"mace": {}, "mace_malloc": SAME_MALLOC}  # MACE as shipped, and with gaunt-md's allocator settings
# one MACE call on 768 atoms needs GBs and the +malloc worker keeps its heap: these systems time the two MACE kinds
# one after the other. At 1536 atoms a single MACE worker (2 threads) was killed by the kernel at 18.8 GB resident
# on this 24 GiB machine (2026-12-04), so that row needs a machine with more memory.
ONE_MACE_AT_A_TIME = {"water768", "water1536"}


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
        if calc.device.type == "cuda":  # the products were queued, not run
            torch.cuda.synchronize()
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


def write_docs(results: list[dict], growth_ratios: list[float] | None, path: Path) -> None:
    lines = [
        "Force call (energy + forces, + stress when periodic), float32, matched sizes (128 channels, hidden L=2, L=3,",
        "correlation 3, 2 layers, r_max 5 Å, elements H, C, N, O). Each repeat times a block of calls per contender",
        f"(mean per call), the contenders in turn after a {SETTLE_S} s pause; the table shows medians over repeats, after",
        f"{WARMUP_ROUNDS} warm-up rounds. Rerun: `python benchmarks/speed.py` (`--systems` for some rows; each row gives",
        "its date and threads).",
        "",
        "MACE+malloc: MACE with the allocator settings gaunt-md applies. gaunt-md is timed as users run it, through",
        "`GauntCalculator`: eager (a copy of the model rewritten for inference: radial tables, linear maps folded,",
        "`docs/architecture.md`) and compiled (`compile=True`: static shapes, one traced and inductor-compiled graph per",
        "shape bucket, `gaunt_md/compiled.py`, structures of up to 32 atoms on at most 2 threads, below; compile: the seconds",
        "of its first call). Matrix products: the mm/bmm",
        "operators of one eager force call replayed alone, back to back (the arithmetic floor of the model as written).",
        "",
        "| system | date, threads | MACE s/call | MACE+malloc s/call | gaunt-md eager s/call | gaunt-md compiled s/call | "
        "compiled vs MACE | vs MACE+malloc | eager vs MACE | compile s | matrix products s/call | MACE / products |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['system']} | {r['time'][:10]}, {r['threads']} | {r['mace_s']:.4f} | {r['mace_malloc_s']:.4f} | "
            f"{r['gaunt_s']:.4f} | {r['compiled_s']:.4f} | {r['mace_s'] / r['compiled_s']:.1f}x | "
            f"{r['mace_malloc_s'] / r['compiled_s']:.1f}x | {r['mace_s'] / r['gaunt_s']:.1f}x | {r['compile_s']:.0f} | "
            f"{r['products_s']:.4f} | {r['mace_s'] / r['products_s']:.1f}x |"
        )
    lines += ["", "Targets (the faster gaunt-md contender, against MACE as shipped and MACE+malloc):"]
    for r in results:
        best = min(r["gaunt_s"], r["compiled_s"])
        ok = r["mace_malloc_s"] / best >= 20
        lines.append(
            f"- {r['system']}: {r['mace_s'] / best:.1f}x / {r['mace_malloc_s'] / best:.1f}x: "
            + (
                "met"
                if ok
                else f"**not met** (20x MACE+malloc is {r['mace_malloc_s'] / 20:.4f} s per call; the matrix "
                f"products alone take {r['products_s']:.4f} s)"
            )
        )
    if growth_ratios:
        lines.append(
            f"- Cost per atom at 1536 atoms over 192 atoms (eager, paired rounds): {statistics.median(growth_ratios):.2f}x "
            "(target ≤ 1.1x)."
        )
    write_section(path, "speed", "Force field vs MACE", lines)


def start_mace(python: str, work: Path, threads: int, hidden_lmax: int, kinds: list[str]) -> dict:
    """MACE workers of the given kinds (``MACE_KINDS``: as shipped, with gaunt-md's allocator settings), ready."""
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    numbers = ",".join(str(atomic_numbers[e]) for e in ELEMENTS)
    workers = {}
    for key in kinds:
        command = [python, str(ROOT / "benchmarks" / "_mace_worker.py"), str(work / f"{key}.model"), str(threads)]
        workers[key] = subprocess.Popen(
            [*command, str(hidden_lmax), numbers],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**env, **MACE_KINDS[key]},
        )
        assert read_reply(workers[key].stdout)["ready"]
    return workers


def stop_mace(workers: dict) -> None:
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()


def time_system(key: str, eager: GauntCalculator, compiled: GauntCalculator, start: Callable, threads: int) -> dict:
    """One row: medians over interleaved rounds of every contender on one system; ``start(kinds)`` starts
    MACE workers. Both MACE kinds take part in every round, except on the systems of ``ONE_MACE_AT_A_TIME``,
    which run the rounds twice, each time with one MACE worker alive (gaunt-md's contenders in both)."""
    name, file, index, repeat, calls, mace_calls, repeats = SYSTEMS[key]
    atoms = read(file, index).repeat(repeat)
    times = {"gaunt": [], "compiled": [], "products": [], "mace": [], "mace_malloc": []}
    gaunt_calls(eager, atoms, 1)
    compile_s = gaunt_calls(compiled, atoms, 1)  # the first call of a new bucket compiles it
    products = matrix_products_of(eager, atoms)
    peak_mb: dict[str, float] = {}  # largest resident size of each MACE worker (MB)
    phases = [[k] for k in MACE_KINDS] if key in ONE_MACE_AT_A_TIME else [list(MACE_KINDS)]
    for kinds in phases:
        workers = start(kinds)
        try:
            for i in range(WARMUP_ROUNDS + repeats):
                timed = {}
                for contender, calc in (("gaunt", eager), ("compiled", compiled)):
                    time.sleep(SETTLE_S)
                    timed[contender] = gaunt_calls(calc, atoms, calls)
                time.sleep(SETTLE_S)
                timed["products"] = products(calls)
                for worker_key, worker in workers.items():
                    time.sleep(SETTLE_S)
                    request = {"file": str(file), "index": index, "repeat": repeat, "calls": mace_calls}
                    worker.stdin.write(json.dumps(request) + "\n")
                    worker.stdin.flush()
                    reply = read_reply(worker.stdout)
                    timed[worker_key] = reply["seconds"]
                    peak_mb[worker_key] = max(peak_mb.get(worker_key, 0.0), reply["maxrss_mb"])
                if i >= WARMUP_ROUNDS:
                    for k, v in timed.items():
                        times[k].append(v)
        finally:
            stop_mace(workers)
    row = {"system": name, "atoms": len(atoms), "threads": threads, "time": time.strftime("%Y-%m-%d %H:%M")}
    row |= {"compile_s": compile_s, "buckets": len(compiled.compiled.calls), "repeats": repeats}
    row |= {f"{k}_peak_mb": v for k, v in peak_mb.items()}
    for k, values in times.items():
        row[f"{k}_s"], row[f"{k}_all_s"] = statistics.median(values), values
    print(
        f"{name}: MACE {row['mace_s']:.4f} s, MACE+malloc {row['mace_malloc_s']:.4f} s, gaunt-md {row['gaunt_s']:.4f} s, "
        f"compiled {row['compiled_s']:.4f} s (compile {compile_s:.0f} s); matrix products {row['products_s']:.4f} s",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mace-python", default=str(ROOT / "benchmarks" / "_work" / "mace-venv" / "bin" / "python"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=[k for k in SYSTEMS if k != "water1536"])
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "speed.json"))
    parser.add_argument("--docs", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = ROOT / "benchmarks" / "_work"
    work.mkdir(parents=True, exist_ok=True)
    model = GauntForceField(elements=ELEMENTS)
    eager = GauntCalculator(model, device="cpu", dtype="float32")
    compiled = GauntCalculator(model, device="cpu", dtype="float32", compile=True)
    start = partial(start_mace, args.mace_python, work, args.threads, model.config.hidden_lmax)
    rows = {SYSTEMS[k][0]: time_system(k, eager, compiled, start, args.threads) for k in args.systems}
    growth = None
    if "water192" in args.systems:  # gaunt-md alone, so the 1536-atom box fits in memory here
        small, large = (read(SYSTEMS[k][1], SYSTEMS[k][2]).repeat(SYSTEMS[k][3]) for k in ("water192", "water1536"))
        growth = per_atom_growth(eager, small, large)
        print(f"cost per atom, 1536 over 192 atoms (paired rounds): {statistics.median(growth):.2f}x", flush=True)
    output = Path(args.output)
    before = json.loads(output.read_text()) if output.is_file() else {}
    growth = growth or before.get("per_atom_growth_ratios")  # a run without water192 keeps the last measurement
    kept = {r["system"]: r for r in before.get("results", []) if "compiled_s" in r}  # rows of this protocol
    order = [SYSTEMS[k][0] for k in SYSTEMS]
    results = sorted({**kept, **rows}.values(), key=lambda r: order.index(r["system"]))
    meta = {"torch": torch.__version__}
    output.write_text(json.dumps({"meta": meta, "results": results, "per_atom_growth_ratios": growth}, indent=2))
    write_docs(results, growth, Path(args.docs))


if __name__ == "__main__":
    main()
