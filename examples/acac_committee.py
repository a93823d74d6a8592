"""Uncertainty-gated MD: an acac committee trained at 300 K, run at 600 K, flags the frames it does not know.

    python examples/acac_committee.py                    # fits 4 members (2 at a time, --minutes each) first
    python examples/acac_committee.py --minutes 10 --members 4 --steps 4000 --out runs/acac-committee

1. ``gaunt-md fit --committee N`` on acac ``train_300K.xyz`` (one validation split; the spread is
   calibrated on it);
2. ``gaunt-md md`` at 600 K with ``--max-force-std`` (default: the committee's own threshold, the
   largest per-frame force std among the validation frames): frames above it go to
   ``OUT/md600_uncertain.extxyz`` for labelling;
3. ``OUT/force_std.png``: the largest per-atom force std against time, with the threshold;
4. the check on ``train_600K.xyz`` (DFT-labelled 600 K frames the committee never saw): does the
   largest force std of a frame rank frames as their largest true force error does, and are the
   frames above the threshold the ones with the largest errors? Printed and in ``OUT/check_600K.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "acac"


def gaunt_md(*args) -> None:
    cmd = [sys.executable, "-m", "gaunt_md.cli", *map(str, args)]
    print("$ gaunt-md " + " ".join(map(str, args)), flush=True)
    subprocess.run(cmd, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/acac-committee"))
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=10.0, help="time budget of each member's fit")
    parser.add_argument("--steps", type=int, default=4000, help="MD steps of 0.5 fs at 600 K")
    parser.add_argument("--threshold", type=float, help="eV/Å; default: the committee's")
    args = parser.parse_args()
    out, committee = args.out, args.out / "fit" / "committee.pt"
    if not committee.is_file():
        gaunt_md("fit", "--train", DATA / "train_300K.xyz", "--valid-fraction", 0.1, "--e0s", DATA / "isolated_atoms.xyz",
                 "--committee", args.members, "--max-minutes", args.minutes, "--epochs", 100000,
                 "--output", out / "fit", "--force")  # fmt: skip
    metrics = json.loads((out / "fit" / "metrics.json").read_text())
    threshold = args.threshold or metrics["max_force_std"]
    print(f"threshold: {threshold:.3f} eV/Å")
    gaunt_md("md", DATA / "test_MD_300K.xyz", "--index", 0, "--model", committee, "--temperature", 600,
             "--steps", args.steps, "--max-force-std", threshold, "--output", out / "md600", "--force")  # fmt: skip
    plot_force_std(out / "md600.csv", threshold, out / "force_std.png")
    check = check_on_labelled(committee, DATA / "train_600K.xyz", threshold)
    (out / "check_600K.json").write_text(json.dumps(check, indent=2))
    print(json.dumps(check, indent=2))


def plot_force_std(log: Path, threshold: float, png: Path) -> None:
    from gaunt_md.plots import pyplot, save

    rows = list(csv.DictReader(log.open()))
    t = [float(r["time_ps"]) for r in rows]
    s = [float(r["max_force_std_eVA"]) for r in rows]
    fig, ax = pyplot().subplots(figsize=(7, 3.5))
    ax.plot(t, s, lw=0.8, label="largest per-atom force std")
    ax.axhline(threshold, color="k", ls="--", lw=1, label="--max-force-std")
    ax.set(xlabel="time (ps)", ylabel="force std (eV/Å)", title="acac committee (300 K data) at 600 K")
    ax.legend()
    save(fig, png)


def check_on_labelled(committee: Path, frames_file: Path, threshold: float) -> dict:
    """Per frame: the largest per-atom force std and the largest per-atom force error (eV/Å)."""
    from scipy.stats import spearmanr

    from gaunt_md import GauntCalculator
    from gaunt_md.data import read_frames

    frames = read_frames(frames_file)
    calc = GauntCalculator(str(committee), dtype="float64")
    stds, errors = [], []
    for f in frames:
        calc.calculate(f.atoms, ["energy", "forces"])
        stds.append(calc.results["forces_std"].max())
        errors.append(np.linalg.norm(calc.results["forces"] - f.forces, axis=1).max())
    stds, errors = np.array(stds), np.array(errors)
    flagged = stds > threshold
    top = errors >= np.quantile(errors, 1 - max(flagged.mean(), 1 / len(errors)))  # as many frames as flagged
    return {
        "frames": len(frames),
        "threshold_eV_per_A": threshold,
        "flagged": int(flagged.sum()),
        "spearman_max_std_vs_max_error": float(spearmanr(stds, errors)[0]),
        "mean_max_error_flagged": float(errors[flagged].mean()) if flagged.any() else None,
        "mean_max_error_not_flagged": float(errors[~flagged].mean()) if (~flagged).any() else None,
        "flagged_among_largest_errors": float((flagged & top).sum() / max(flagged.sum(), 1)),
    }


if __name__ == "__main__":
    main()
