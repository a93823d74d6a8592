"""Threads for small molecules: one compiled gaunt-md force call and one MACE+malloc call on 1 and on 2 threads.

For ethanol, acac and 3bpa (the shipped gaunt-md models, ``GauntCalculator(compile=True)``, float32; MACE+malloc as
in ``benchmarks/speed.py``, random weights of the same size), each contender times blocks of calls on 1 and on 2
threads in turn (gaunt-md: ``gaunt_md.compiled.SMALL_THREADS`` set to 1 or 2, each thread count
its own compiled graph), medians over rounds. It measures what ``SMALL_THREADS`` decides: whether a small
structure's compiled call is faster on one thread than on two, and whether MACE, the peer, is (it is not). Run it
alone on the machine: ``python benchmarks/small_threads.py``; writes ``benchmarks/results/small_threads.json``.
"""

from __future__ import annotations

import json
import statistics
import time

import torch
from ase.io import read
from speed import DATA, ROOT, read_reply, start_mace

import gaunt_md.compiled as compiled
from gaunt_md import GauntCalculator
from gaunt_md.config import ModelConfig

SYSTEMS = {
    "ethanol": ("gaunt-ethanol", DATA / "ethanol" / "test_MD.xyz"),
    "acac": ("gaunt-acac", DATA / "acac" / "test_MD_300K.xyz"),
    "3bpa": ("gaunt-3bpa", DATA / "3bpa" / "train_300K.xyz"),
}
ROUNDS, CALLS, MACE_CALLS = 9, 50, 5


def gaunt_ms(model: str, atoms) -> dict[int, float]:
    """Median ms per compiled force call with one thread and with two."""
    calcs = {}
    for threads in (1, 2):
        compiled.SMALL_THREADS = threads  # these molecules are small (at most compiled.SMALL_ATOMS atoms)
        torch.set_num_threads(2)
        calcs[threads] = (atoms.copy(), GauntCalculator(model, compile=True))
        calcs[threads][0].calc = calcs[threads][1]
        calcs[threads][0].get_forces()  # compiles with the thread count it will run with
    times = {t: [] for t in calcs}
    for _ in range(ROUNDS):
        for threads, (a, calc) in calcs.items():
            compiled.SMALL_THREADS = threads
            t0 = time.perf_counter()
            for _ in range(CALLS):
                calc.reset()
                a.get_forces()
            times[threads].append((time.perf_counter() - t0) / CALLS * 1e3)
    return {t: statistics.median(v) for t, v in times.items()}


def mace_ms(files: dict[str, str]) -> dict[str, dict[int, float]]:
    """Median ms per MACE+malloc call on 1 and 2 threads, one worker per thread count (as speed.py starts them)."""
    python = str(ROOT / "benchmarks" / "_work" / "mace-venv" / "bin" / "python")
    work = ROOT / "benchmarks" / "_work"  # mace_malloc.model, written by benchmarks/speed.py
    hidden_lmax = ModelConfig().hidden_lmax  # speed.py's MACE matches the default gaunt-md model
    workers = {t: start_mace(python, work, t, hidden_lmax, ["mace_malloc"])["mace_malloc"] for t in (1, 2)}
    out = {}
    try:
        for name, file in files.items():
            times = {t: [] for t in workers}
            for _ in range(ROUNDS):
                for t, worker in workers.items():
                    worker.stdin.write(
                        json.dumps({"file": file, "index": 0, "repeat": [1, 1, 1], "calls": MACE_CALLS}) + "\n"
                    )
                    worker.stdin.flush()
                    times[t].append(read_reply(worker.stdout)["seconds"] * 1e3)
            out[name] = {t: statistics.median(v) for t, v in times.items()}
    finally:
        for worker in workers.values():
            worker.kill()
    return out


def main() -> None:
    results = {name: {"gaunt_compiled_ms": gaunt_ms(model, read(file, 0))} for name, (model, file) in SYSTEMS.items()}
    for name, ms in mace_ms({k: str(f) for k, (_, f) in SYSTEMS.items()}).items():
        results[name]["mace_malloc_ms"] = ms
    for name, r in results.items():
        print(name, json.dumps(r))
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "torch": torch.__version__, "rounds": ROUNDS}
    path = ROOT / "benchmarks" / "results" / "small_threads.json"
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
