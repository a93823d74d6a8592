"""Does the Gaunt bracket help the force field? ``GauntForceField(pseudo=True)`` against the plain model.

    python benchmarks/bracket_model.py train acac --minutes 30   # both variants at once, 1 thread each
    python benchmarks/bracket_model.py train 3bpa --minutes 30
    python benchmarks/bracket_model.py speed                     # force-call cost, interleaved, 2 threads
    python benchmarks/bracket_model.py report                    # docs/bracket.md

``train`` fits the default model (128 channels, lmax 3, hidden_lmax 1, correlation 3, 2 layers) with
and without ``--pseudo`` for the same wall time, side by side (one thread each, so both see the same
machine), and scores each on its validation split: the issue asks for the validation split, and no
test file is used to choose anything. ``speed`` times a force call of both variants on an acac and a
3BPA molecule (float32), alternating between them. Results: ``benchmarks/results/bracket_model.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WORK = ROOT / "benchmarks" / "_work" / "bracket_model"
RESULT = ROOT / "benchmarks" / "results" / "bracket_model.json"
DOC = ROOT / "docs" / "bracket.md"
SYSTEMS = {"acac": ("acac/train_300K.xyz", "acac/isolated_atoms.xyz"), "3bpa": ("3bpa/train_300K.xyz", "3bpa/isolated_atoms.xyz")}
VARIANTS = {"product": [], "product+bracket": ["--pseudo"]}


def _load() -> dict:
    return json.loads(RESULT.read_text()) if RESULT.is_file() else {}


def _save(result: dict) -> None:
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")


def train(system: str, minutes: float) -> None:
    train_file, e0s = SYSTEMS[system]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = {}
    for variant, flags in VARIANTS.items():
        out = WORK / system / variant
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "gaunt_md.cli", "fit", "--train", str(DATA / train_file), "--valid-fraction", "0.1", "--e0s",
               str(DATA / e0s), "--output", str(out), "--max-minutes", str(minutes), "--epochs", "100000", "--force", *flags]
        procs[variant] = subprocess.Popen(cmd, env=env, stdout=(out.parent / f"{variant}.log").open("w"), stderr=subprocess.STDOUT)
    result = _load()
    for variant, proc in procs.items():
        if proc.wait():
            raise SystemExit(f"{variant} fit failed; see {WORK / system / (variant + '.log')}")
        out = WORK / system / variant
        metrics = json.loads((out / "metrics.json").read_text())["valid"]
        epochs = len((out / "log.csv").read_text().splitlines()) - 1
        result.setdefault("train", {}).setdefault(system, {})[variant] = {"minutes": minutes, "epochs": epochs, **metrics}
    _save(result)


def speed(repeats: int) -> None:
    import torch
    from ase.io import read

    from gaunt_md import GauntCalculator, GauntForceField

    torch.set_num_threads(2)
    result = _load()
    for system, (train_file, _) in SYSTEMS.items():
        atoms = read(DATA / train_file, 0)
        calcs = {}
        for variant, flags in VARIANTS.items():
            torch.manual_seed(0)
            model = GauntForceField(elements=sorted(set(atoms.numbers.tolist())), pseudo=bool(flags))
            calcs[variant] = GauntCalculator(model, device="cpu", dtype="float32")
        times = {v: [] for v in calcs}
        for _ in range(repeats + 1):  # the first round warms up
            for variant, calc in calcs.items():
                calc.reset()
                atoms.calc = calc
                t0 = time.perf_counter()
                atoms.get_forces()
                times[variant].append(time.perf_counter() - t0)
        best = {v: min(t[1:]) for v, t in times.items()}
        result.setdefault("speed", {})[system] = {"atoms": len(atoms), "seconds": best,
                                                  "ratio": best["product+bracket"] / best["product"]}
    _save(result)


def report() -> None:
    result = _load()
    lines = ["# The Gaunt bracket in the force field", "",
             "`GauntForceField(pseudo=True)` (`gaunt-md fit --pseudo`) carries pseudo-tensor channels coupled by the Gaunt",
             "bracket, so its layers span the odd (cross-product) paths that the Gaunt product drops. Made by",
             "`benchmarks/bracket_model.py` (its docstring gives the commands); numbers from `benchmarks/results/bracket_model.json`.", "",
             "## Accuracy at equal training time (validation split, default model size, 2 shared CPU cores)", "",
             "| system | variant | minutes | epochs | F RMSE (meV/Å) | F MAE (meV/Å) | E RMSE (meV/atom) |", "|---|---|---|---|---|---|---|"]
    for system, runs in result.get("train", {}).items():
        for variant, r in runs.items():
            lines.append(f"| {system} | {variant} | {r['minutes']:g} | {r['epochs']} | {r['forces_rmse']:.1f} | {r['forces_mae']:.1f} | {r['energy_rmse']:.2f} |")
    lines += ["", "## Cost of a force call (float32, 2 threads, best of the repeats, variants interleaved)", "",
              "| system | atoms | product (ms) | product+bracket (ms) | ratio |", "|---|---|---|---|---|"]
    for system, r in result.get("speed", {}).items():
        s = r["seconds"]
        lines.append(f"| {system} | {r['atoms']} | {1e3 * s['product']:.1f} | {1e3 * s['product+bracket']:.1f} | {r['ratio']:.2f} |")
    DOC.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    t = sub.add_parser("train")
    t.add_argument("system", choices=SYSTEMS)
    t.add_argument("--minutes", type=float, default=30)
    s = sub.add_parser("speed")
    s.add_argument("--repeats", type=int, default=10)
    sub.add_parser("report")
    args = parser.parse_args()
    if args.step == "train":
        train(args.system, args.minutes)
    elif args.step == "speed":
        speed(args.repeats)
    else:
        report()


if __name__ == "__main__":
    main()
