"""What the A/B benchmarks of compiled force calls share: calculators timed in interleaved rounds."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SYSTEMS = {  # the in-process A/B benchmarks: name: (file whose frame 0 is timed, calls per round)
    "ethanol (9 atoms)": (DATA / "ethanol" / "test_MD.xyz", 100),
    "acac (15 atoms)": (DATA / "acac" / "test_MD_300K.xyz", 100),
    "3bpa (27 atoms)": (DATA / "3bpa" / "train_300K.xyz", 50),
    "water 64 H2O (192 atoms)": (DATA / "water" / "test.xyz", 5),
}


def interleaved_calls(calcs: dict, atoms: Atoms, calls: int, rounds: int) -> tuple[dict, dict]:
    """Each round times ``calls`` force calls of every calculator in turn, on ``atoms`` nudged before each
    call (a new structure, so the calculator recomputes). Returns (ms per call of each round, the last
    forces) by calculator name."""
    times: dict[str, list[float]] = {k: [] for k in calcs}
    forces: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, calc in calcs.items():
            moved = atoms.copy()
            moved.calc = calc
            start = time.perf_counter()
            for _ in range(calls):
                moved.positions[0, 0] += 1e-5
                forces[name] = moved.get_forces()
            times[name].append(1e3 * (time.perf_counter() - start) / calls)
    return times, forces


def paired_summary(times: dict, forces: dict, first: str, second: str) -> dict:
    """Median ms per call of every calculator, the median per-round ratio ``first`` / ``second``
    (speed-up) and the largest force difference (eV/Å) between the two."""
    return {
        **{f"{k}_ms": statistics.median(v) for k, v in times.items()},
        "speedup": statistics.median([a / b for a, b in zip(times[first], times[second])]),
        "max_force_difference": float(abs(forces[first] - forces[second]).max()),
    }


def measure_systems(measure: Callable[[Path, int], dict], threads: int) -> dict:
    """``measure(file, calls)`` on every system of SYSTEMS (printed as it goes), under a meta block
    (torch, threads, time)."""
    results = {"meta": {"torch": torch.__version__, "threads": threads, "time": time.strftime("%Y-%m-%d %H:%M")}}
    for name, (file, calls) in SYSTEMS.items():
        results[name] = measure(file, calls)
        print(name, json.dumps(results[name]), flush=True)
    return results
