"""MD throughput of the shipped molecule and water models, eager and compiled (``GauntCalculator(compile=True)``).

For each system (ethanol, acac, 3bpa with gaunt-ethanol, gaunt-acac, gaunt-3bpa; a 192-atom box of liquid water
with gaunt-water, ``--water-steps`` timed steps), float32 and the threads given: Langevin MD at 300 K with a 0.5 fs step (ASE's integrator, as ``gaunt-md md --ensemble nvt``),
``--warmup`` steps first (the compiled calculator compiles in its first call: the time of that call is
reported), then ``--steps`` timed steps; ns/day from the timed steps. The contenders run one after the
other on the same starting frame; run it on a quiet machine.

    python benchmarks/md_speed.py            # writes benchmarks/results/md_speed.json, a table in docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from _docs import write_section
from ase import units
from ase.io import read
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

from gaunt_md import GauntCalculator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYSTEMS = {  # name: (model, file)
    "ethanol (9 atoms)": ("gaunt-ethanol", DATA / "ethanol" / "test_MD.xyz"),
    "acac (15 atoms)": ("gaunt-acac", DATA / "acac" / "test_MD_300K.xyz"),
    "3bpa (27 atoms)": ("gaunt-3bpa", DATA / "3bpa" / "train_300K.xyz"),
    "water 64 H2O (192 atoms)": ("gaunt-water", DATA / "water" / "test.xyz"),
}
TIMESTEP_FS = 0.5


def run(model: str, file: Path, compile: bool, warmup: int, steps: int) -> dict:
    atoms = read(file, 0)
    atoms.calc = GauntCalculator(model, device="cpu", dtype="float32", compile=compile)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dyn = Langevin(atoms, TIMESTEP_FS * units.fs, temperature_K=300, friction=0.01, rng=np.random.default_rng(1))
    t0 = time.perf_counter()
    atoms.get_forces()
    first = time.perf_counter() - t0
    dyn.run(warmup)
    t0 = time.perf_counter()
    dyn.run(steps)
    seconds = time.perf_counter() - t0
    return {
        "first_call_s": first,
        "ms_per_step": 1e3 * seconds / steps,
        "ns_per_day": steps * TIMESTEP_FS * 1e-6 / (seconds / 86400),
        "buckets": len(atoms.calc.compiled.calls) if compile else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--water-steps", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, (model, file) in SYSTEMS.items():
        steps = args.water_steps if model == "gaunt-water" else args.steps
        row = {"system": name, "model": model, "steps": steps}
        for label, compile in (("eager", False), ("compiled", True)):
            row[label] = run(model, file, compile, args.warmup, steps)
            print(name, label, json.dumps(row[label]), flush=True)
        rows.append(row)
    meta = {
        "torch": torch.__version__,
        "threads": args.threads,
        "steps": args.steps,
        "time": time.strftime("%Y-%m-%d %H:%M"),
    }
    (ROOT / "benchmarks" / "results" / "md_speed.json").write_text(
        json.dumps({"meta": meta, "results": rows}, indent=2)
    )
    lines = [
        f"Langevin MD at 300 K, 0.5 fs, float32, {args.threads} threads, the shipped models ({meta['time']}; "
        f"{args.steps} timed steps after {args.warmup}; water {args.water_steps}). Rerun: `python benchmarks/md_speed.py`.",
        "",
        "| system | model | eager ns/day | compiled ns/day | speed-up | eager ms/step | compiled ms/step | compiled first call s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e, c = r["eager"], r["compiled"]
        lines.append(
            f"| {r['system']} | {r['model']} | {e['ns_per_day']:.2f} | {c['ns_per_day']:.2f} | "
            f"{c['ns_per_day'] / e['ns_per_day']:.1f}x | {e['ms_per_step']:.1f} | {c['ms_per_step']:.1f} | {c['first_call_s']:.0f} |"
        )
    write_section(ROOT / "docs" / "performance.md", "md_speed", "MD: eager and compiled", lines)


if __name__ == "__main__":
    main()
