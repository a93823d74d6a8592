"""Fine-tuning against training from scratch on 50 frames of hotter data, at equal time.

50 frames drawn (seed 0) from ``acac/train_600K.xyz`` (600 K MD) train each variant, 5 of them held
out for validation; the other 450 frames of train_600K and ``acac/test_MD_300K.xyz`` test them:
does fine-tuning learn the hotter region without forgetting the 300 K one?

- ``finetune``: ``--init-model gaunt-acac`` (its weights, architecture and E0s), the default lr 0.01;
- ``finetune-lr-0.001``: the same with lr 0.001 (gentler steps from a fitted model);
- ``scratch``: the default model from random weights with the isolated-atom E0s.

Each fit gets ``--minutes`` of wall time with one thread, all three side by side on the 2 cores (so
each sees the same load). Also recorded: gaunt-acac itself (the parent, no training) on both test sets.

    python benchmarks/finetune.py --minutes 8       # ~10 min: three fits side by side
    python benchmarks/finetune.py --report          # docs/accuracy.md section from the JSON

Results: ``benchmarks/results/finetune.json``, the "fine-tuning" section of ``docs/accuracy.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _docs import write_section
from _runs import GAUNT_MD, ROOT, Job, merge_json, provenance, run_side_by_side

DATA = ROOT.parent / "shared" / "data" / "acac"
WORK = ROOT / "benchmarks" / "_work" / "finetune"
RESULTS = ROOT / "benchmarks" / "results" / "finetune.json"
VARIANTS = {
    "finetune": ["--init-model", "gaunt-acac"],
    "finetune-lr-0.001": ["--init-model", "gaunt-acac", "--lr", 0.001],
    "scratch": ["--e0s", DATA / "isolated_atoms.xyz"],
}
N_TRAIN = 50


def split_files() -> tuple[Path, Path]:
    """train50.xyz (50 frames of train_600K, seed 0) and rest450.xyz (the others), in WORK."""
    from ase.io import read, write

    frames = read(DATA / "train_600K.xyz", ":")
    order = np.random.default_rng(0).permutation(len(frames))
    WORK.mkdir(parents=True, exist_ok=True)
    train, rest = WORK / "train50.xyz", WORK / f"rest{len(frames) - N_TRAIN}.xyz"
    write(train, [frames[i] for i in sorted(order[:N_TRAIN])])
    write(rest, [frames[i] for i in sorted(order[N_TRAIN:])])
    return train, rest


def errors(model: str | Path, files: list[Path]) -> dict:
    """Force and energy errors of a model on each file (``gaunt-md eval --json``)."""
    import subprocess

    report = WORK / "eval.json"
    cmd = [*GAUNT_MD, "eval", str(model), *map(str, files), "--json", str(report), "--force", "--threads", "1"]
    subprocess.run(cmd, check=True, capture_output=True)
    tables = json.loads(report.read_text())["files"]
    return {Path(f).stem: t["all"] for f, t in tables.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if not args.report:
        train, rest = split_files()
        tests = [rest, DATA / "test_MD_300K.xyz"]
        jobs = []
        for name, flags in VARIANTS.items():
            out = WORK / name
            cmd = [*GAUNT_MD, "fit", "--train", train, "--valid-fraction", 0.1, "--output", out, *flags,
                   "--max-minutes", args.minutes, "--epochs", 100000, "--threads", 1, "--force"]  # fmt: skip
            jobs.append(Job(name, list(map(str, cmd)), WORK / f"{name}.log", lambda o=out: _epochs(o)))
        run_side_by_side([jobs])
        result = {"parent gaunt-acac": errors("gaunt-acac", tests)}
        for job in jobs:
            if job.returncode != 0:
                sys.exit(f"{job.name} failed: see {job.console}")
            metrics = json.loads((WORK / job.name / "metrics.json").read_text())
            result[job.name] = {
                "epochs": int(_epochs(WORK / job.name).split()[0]),
                "valid": metrics["valid"],
                **errors(WORK / job.name / "model.pt", tests),
            }
        merge_json(RESULTS, {f"{args.minutes:g} min": {**provenance(1), "runs": result}}, depth=1)
    report()


def _epochs(out: Path) -> str:
    log = out / "log.csv"
    return f"{max(0, len(log.read_text().splitlines()) - 1) if log.is_file() else 0} epochs"


def report() -> None:
    """The fine-tuning section of docs/accuracy.md from finetune.json."""
    data = json.loads(RESULTS.read_text())
    lines = []
    for budget, entry in data.items():
        lines += [
            f"`{entry['command']}` ({entry['date']}, one thread each, the three fits side by side on 2 cores, {budget} each). "
            f"Force RMSE / energy RMSE (meV/Å, meV/atom) on the 450 frames of train_600K that no fit saw and on "
            "test_MD_300K:",
            "",
            "| variant | epochs | valid F RMSE | 600 K (450 frames) F | 600 K E | 300 K test F | 300 K test E |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in entry["runs"].items():
            hot, cold = r["rest450"], r["test_MD_300K"]
            valid = f"{r['valid']['forces_rmse']:.1f}" if "valid" in r else "-"
            lines.append(
                f"| {name} | {r.get('epochs', '-')} | {valid} | {hot['forces_rmse']:.1f} | {hot['energy_rmse']:.2f} | "
                f"{cold['forces_rmse']:.1f} | {cold['energy_rmse']:.2f} |"
            )
    write_section(ROOT / "docs" / "accuracy.md", "finetune", "Fine-tuning on 50 frames of 600 K data", lines)


if __name__ == "__main__":
    main()
