"""Accuracy of ``gaunt-md fit`` on the shared DFT datasets, side by side with MACE.

Three steps, each a subcommand, so the long runs can be spread over sessions and machines:

    python benchmarks/accuracy.py gaunt acac --minutes 120 --snapshot 30 --threads 1  # gaunt-md fit, timed
    python benchmarks/accuracy.py mace acac --epochs 20                   # MACE, same data and split
    python benchmarks/accuracy.py gaunt-epochs acac --epochs 20           # gaunt-md, the same epochs
    python benchmarks/accuracy.py report                                  # docs/accuracy.md

``gaunt`` runs ``gaunt-md fit`` with a wall-time budget and copies the best model so far at each
``--snapshot`` minute mark, then evaluates every model on the system's test file with ``gaunt-md
eval``. ``mace`` trains MACE (mace-torch 0.3.16 in its own venv, see ``benchmarks/speed.py``) on the
same training/validation split with the same architecture size for a given number of epochs, and
evaluates it on the same test file. Results: ``benchmarks/results/accuracy_<system>.json``.
Work folders: ``benchmarks/_work/accuracy/<system>/`` (not committed).

Hyperparameters are the defaults of ``gaunt-md fit`` and were not tuned on any test file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _docs import write_section

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WORK = ROOT / "benchmarks" / "_work" / "accuracy"
RESULTS = ROOT / "benchmarks" / "results"
SYSTEMS = {  # train, test, E0s, validation fraction held out of train
    "acac": (
        DATA / "acac" / "train_300K.xyz",
        DATA / "acac" / "test_MD_300K.xyz",
        DATA / "acac" / "isolated_atoms.xyz",
        0.1,
    ),
    "ethanol": (
        DATA / "ethanol" / "train.xyz",
        DATA / "ethanol" / "test_MD.xyz",
        DATA / "ethanol" / "isolated_atoms.xyz",
        0.05,
    ),
}
PUBLISHED = {
    "acac": "MACE: E RMSE 0.9 meV, F RMSE 5.1 meV/Å (300 K test)",
    "ethanol": "MACE: E MAE 0.4 meV, F MAE 2.1 meV/Å",
}


def _eval(model: Path, test: Path, out: Path) -> dict:
    """Test metrics of a gaunt-md model file, through the ``gaunt-md eval`` command."""
    cmd = [
        sys.executable,
        "-m",
        "gaunt_md.cli",
        "eval",
        str(model),
        str(test),
        "--plot",
        str(out / f"parity_{model.stem}.png"),
        "--json",
        str(out / f"test_{model.stem}.json"),
        "--force",
    ]
    subprocess.run(cmd, check=True)
    table = json.loads((out / f"test_{model.stem}.json").read_text())
    return next(iter(table["files"].values()))["all"]


def fit_command(system: str, out: Path, *extra: object, train: Path | None = None) -> list[str]:
    """``gaunt-md fit`` of a system's training file (or ``train``) with its E0s and validation
    fraction into ``out`` (replaced), plus ``extra`` flags."""
    default_train, _, e0s, valid_fraction = SYSTEMS[system]
    flags = [
        "--train",
        train or default_train,
        "--valid-fraction",
        valid_fraction,
        "--e0s",
        e0s,
        "--output",
        out,
        *extra,
        "--force",
    ]
    return [sys.executable, "-m", "gaunt_md.cli", "fit", *map(str, flags)]


def run_gaunt(system: str, minutes: float, snapshots: list[float], threads: int) -> None:
    test = SYSTEMS[system][1]
    out = WORK / system / "gaunt"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = fit_command(system, out, "--max-minutes", minutes, "--epochs", 100000)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    best = out / "checkpoints" / "best.pt"
    pending = sorted(snapshots)
    while proc.poll() is None:
        time.sleep(5)
        if pending and time.perf_counter() - t0 >= pending[0] * 60 and best.is_file():
            shutil.copyfile(best, out / f"snapshot_{pending.pop(0):g}min.pt")  # best.pt is written atomically
    if proc.returncode:
        raise SystemExit(f"gaunt-md fit failed with exit code {proc.returncode}")
    wall = time.perf_counter() - t0
    log = (out / "log.csv").read_text().splitlines()
    rows = {"final": {"minutes": wall / 60, "epochs": len(log) - 1, **_eval(out / "model.pt", test, out)}}
    for snap in sorted(out.glob("snapshot_*min.pt")):
        rows[snap.stem] = {"minutes": float(snap.stem.split("_")[1][:-3]), **_eval(snap, test, out)}
    record(system, "gaunt", {"threads": threads, "runs": rows})


def run_gaunt_epochs(system: str, epochs: int, threads: int) -> None:
    """gaunt-md fit for a fixed number of epochs (the equal-epoch partner of ``run_mace``)."""
    test = SYSTEMS[system][1]
    out = WORK / system / f"gaunt_{epochs}epochs"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    subprocess.run(fit_command(system, out, "--epochs", epochs), env=env, check=True)
    row = {"minutes": (time.perf_counter() - t0) / 60, "epochs": epochs, **_eval(out / "model.pt", test, out)}
    record(system, "gaunt_equal_epochs", {"threads": threads, "runs": {"final": row}})


def record(system: str, key: str, value: dict) -> None:
    """Store ``value`` under ``key`` in the system's results file and print it."""
    path = RESULTS / f"accuracy_{system}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2))
    print(json.dumps(value, indent=2))


def report() -> None:
    """The results section of docs/accuracy.md from the JSON results; the rest of the file is kept."""
    lines = [
        "Generated by `python benchmarks/accuracy.py report` from `benchmarks/results/accuracy_*.json`; the commands that",
        "produced each row are in the docstring of `benchmarks/accuracy.py`. Test-set errors: energies per atom (meV/atom) and per",
        "structure (meV), forces per component (meV/Å). Hyperparameters are gaunt-md fit's defaults, chosen without the test files.",
        "All runs on 2 shared CPU cores; `threads` is the OpenMP thread count of the run, and runs shared the machine with others,",
        "so minutes are wall time under load. The time-budget rows come from `python benchmarks/accuracy.py gaunt SYSTEM --minutes 120",
        "--snapshot 30 --threads 1`, run for acac and ethanol at the same time (2026-11-23, one thread each on the 2 cores; both were",
        'paused for about 3 minutes in all while speed was measured). "Best model at 30 min" is the best-validation EMA model at the',
        "30-minute mark of the same run (before the stage-two energy weighting). The weights of these two runs were not kept (the",
        "work folder was lost with the machine); the shipped gaunt-acac and gaunt-ethanol 1.1 are a repeat of the same fit with a",
        "90-minute budget (`models/build.py`, their cards give their test errors).",
        "",
        "Equal epochs (acac, 2026-11-23): MACE and gaunt-md trained 10 epochs each on the same split with the same loss",
        "schedule (stage two for the last 20%), one thread each. MACE shared the cores with two other trainings for its first",
        "~25 minutes, ran alone for ~25, and beside the gaunt-md run for its last ~9; the gaunt-md run had one core beside",
        "MACE. Per epoch MACE is more accurate at this point of training; per minute gaunt-md is (its 30-minute model beats",
        "MACE's 60-minute one: F RMSE 43.2 vs 49.5 meV/Å).",
        "",
        "Equal epochs (ethanol, 2026-11-23): the same protocol. gaunt-md ran beside MACE for its 9.6 minutes; MACE then",
        "shared the machine with one-thread tests and timings. Per epoch MACE is far ahead (F RMSE 29.1 vs 55.5 meV/Å).",
        "Per minute gaunt-md is ahead on forces: its time-budget run reached 32.8 meV/Å at 30 minutes and 15.4 at 121, MACE 29.1",
        "at 55. Its 121-minute energies carry a constant offset (E MAE 1.74 of RMSE 1.77 meV/atom: 15.6 meV per molecule on every",
        "test frame), worse than at 30 minutes; the validation criterion (energy weight 1, forces 100) barely sees energies.",
        "",
    ]
    header = "| run | threads | epochs | minutes | E RMSE meV/atom | E MAE meV/atom | E RMSE meV/structure | E MAE meV/structure | F RMSE meV/Å | F MAE meV/Å |"
    labels = {
        "gaunt": "gaunt-md, time budget",
        "gaunt_equal_epochs": "gaunt-md, equal epochs",
        "mace": "MACE 0.3.16, equal epochs",
    }
    for system in sorted(PUBLISHED):  # other accuracy_*.json files are other scripts' records
        data = json.loads((RESULTS / f"accuracy_{system}.json").read_text())
        lines += [f"## {system}", "", f"Published for orientation: {PUBLISHED[system]}.", "", header, "|" + "---|" * 10]
        for key, label in labels.items():
            for run, r in sorted(data.get(key, {}).get("runs", {}).items(), key=lambda kv: kv[1]["minutes"]):
                name = label if run == "final" else f"{label}: best model at {r['minutes']:g} min"
                epochs = r.get("epochs", "")
                lines.append(
                    f"| {name} | {data[key]['threads']} | {epochs} | {r['minutes']:.1f} | {r['energy_rmse']:.2f} | {r['energy_mae']:.2f} | "
                    f"{r['energy_total_rmse']:.1f} | {r['energy_total_mae']:.1f} | {r['forces_rmse']:.1f} | {r['forces_mae']:.1f} |"
                )
        lines.append("")
    write_section(ROOT / "docs" / "accuracy.md", "accuracy", "Fits and MACE on acac and ethanol", lines[:-1])
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    g = sub.add_parser("gaunt")
    g.add_argument("system", choices=SYSTEMS)
    g.add_argument("--minutes", type=float, default=120)
    g.add_argument(
        "--snapshot", type=float, action="append", default=[], help="also evaluate the best model at this minute mark"
    )
    g.add_argument("--threads", type=int, default=2)
    m = sub.add_parser("mace")
    m.add_argument("system", choices=SYSTEMS)
    m.add_argument("--epochs", type=int, default=10)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument(
        "--limit", type=int, help="smoke run: only the first LIMIT frames of each split; prints, records nothing"
    )
    m.add_argument("--mace-python", type=Path, default=ROOT / "benchmarks" / "_work" / "mace-venv" / "bin" / "python")
    e = sub.add_parser("gaunt-epochs")
    e.add_argument("system", choices=SYSTEMS)
    e.add_argument("--epochs", type=int, default=10)
    e.add_argument("--threads", type=int, default=2)
    sub.add_parser("report")
    args = parser.parse_args()
    if args.step == "gaunt":
        run_gaunt(args.system, args.minutes, args.snapshot, args.threads)
    elif args.step == "mace":
        from accuracy_mace import run_mace  # imports this module

        run_mace(args.system, args.epochs, args.mace_python, args.threads, args.limit)
    elif args.step == "gaunt-epochs":
        run_gaunt_epochs(args.system, args.epochs, args.threads)
    else:
        report()


if __name__ == "__main__":
    main()
