"""What the A/B benchmarks of compiled force calls share: calculators timed in interleaved rounds."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
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
