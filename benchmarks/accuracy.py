"""Accuracy of ``gaunt-md fit`` on the shared DFT datasets, side by side with MACE.

Three steps, each a subcommand, so the long runs can be spread over sessions and machines:

    python benchmarks/accuracy.py gaunt acac --minutes 90 --snapshot 30   # gaunt-md fit, timed
    python benchmarks/accuracy.py mace acac --epochs 20                   # MACE, same data
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

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WORK = ROOT / "benchmarks" / "_work" / "accuracy"
RESULTS = ROOT / "benchmarks" / "results"
SYSTEMS = {  # train, test, E0s, validation fraction held out of train
    "acac": (DATA / "acac" / "train_300K.xyz", DATA / "acac" / "test_MD_300K.xyz", DATA / "acac" / "isolated_atoms.xyz", 0.1),
    "ethanol": (DATA / "ethanol" / "train.xyz", DATA / "ethanol" / "test_MD.xyz", DATA / "ethanol" / "isolated_atoms.xyz", 0.05),
}
PUBLISHED = {"acac": "MACE: E RMSE 0.9 meV, F RMSE 5.1 meV/Å (300 K test)", "ethanol": "MACE: E MAE 0.4 meV, F MAE 2.1 meV/Å"}


def _eval(model: Path, test: Path, out: Path) -> dict:
    """Test metrics of a gaunt-md model file, through the ``gaunt-md eval`` command."""
    cmd = [sys.executable, "-m", "gaunt_md.cli", "eval", str(model), str(test), "--plot", str(out / f"parity_{model.stem}.png"), "--json",
           str(out / f"test_{model.stem}.json"), "--force"]
    subprocess.run(cmd, check=True)
    table = json.loads((out / f"test_{model.stem}.json").read_text())
    return next(iter(table.values()))["all"]


def run_gaunt(system: str, minutes: float, snapshots: list[float], threads: int) -> None:
    train, test, e0s, valid_fraction = SYSTEMS[system]
    out = WORK / system / "gaunt"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "gaunt_md.cli", "fit", "--train", str(train), "--valid-fraction", str(valid_fraction), "--e0s", str(e0s),
           "--output", str(out), "--max-minutes", str(minutes), "--epochs", "100000", "--force"]
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
    _update(system, "gaunt", {"threads": threads, "runs": rows})


def _update(system: str, key: str, value: dict) -> None:
    path = RESULTS / f"accuracy_{system}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2))
    print(json.dumps(value, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    g = sub.add_parser("gaunt")
    g.add_argument("system", choices=SYSTEMS)
    g.add_argument("--minutes", type=float, default=120)
    g.add_argument("--snapshot", type=float, action="append", default=[], help="also evaluate the best model at this minute mark")
    g.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.step == "gaunt":
        run_gaunt(args.system, args.minutes, args.snapshot, args.threads)


if __name__ == "__main__":
    main()
