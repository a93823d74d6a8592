"""Ablation of ``gaunt-md fit`` settings: named variants trained with everything else equal.

Training (the default mode): for each system (acac: train_300K.xyz, tested on test_MD_300K.xyz;
ethanol: train.xyz, tested on test_MD.xyz; E0s from isolated_atoms.xyz and the validation fractions
of ``benchmarks/accuracy.py``) and variant (``VARIANTS``: the fit settings that differ from the
defaults), ``gaunt-md fit`` for a fixed number of epochs with seed 0 (same split, initial weights and
batches) and the default schedule, one thread each. The variants of one system run ``--parallel`` at
a time, so the members of a pair share the 2 cores and see the same load. Recorded: validation
errors and seconds per epoch (log.csv), validation and test errors of the final model (metrics.json:
energies meV/atom, forces meV/Å), wall minutes.

``--timing`` (run it alone, with nothing else busy on the machine): the force call (energy and
forces; the calculator adds the stress of periodic cells) of each variant's model, random weights,
float32, 2 threads, on the first acac test frame (15 atoms) and the first water test frame (64 H2O,
192 atoms, periodic), variants interleaved in rounds after warm-up rounds: medians (ms) and the
median over rounds of the ratio to the default in the same round.

    python benchmarks/ablation.py --systems acac ethanol --variants default no-prior --epochs 60  # ~1 h 45 min
    python benchmarks/ablation.py --systems acac --variants default cosine --minutes 30    # equal time: 30 min
    python benchmarks/ablation.py --systems mlearn-Si --variants default stress-10 --minutes 15  # stress weight
    python benchmarks/ablation.py --timing --variants default no-prior                          # ~2 min, quiet machine
    python benchmarks/ablation.py --report          # docs and PNGs from the JSON alone
    python benchmarks/ablation.py --smoke           # tiny models, 20 frames, 2 epochs: results in benchmarks/_work/smoke

Expected time (0.2.0 defaults, batch 2): with two fits sharing the 2 cores an epoch takes about 22 s on acac and
30-45 s on ethanol, so 60 epochs of two variants per system take about 22 + 40 minutes.

Results: ``benchmarks/results/ablation.json`` (system → variant, merged so later runs add to it), the
"ablation" section of ``docs/accuracy.md``, ``benchmarks/results/ablation_<system>.png``. Work folders
(models for ``benchmarks/pair_prior.py``): ``benchmarks/_work/ablation/<system>/<variant>/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import yaml
from _ablation_report import report
from _runs import Job, merge_json, places, provenance, run_side_by_side, work_root
from accuracy import DATA, SYSTEMS, fit_command

from gaunt_md import __version__
from gaunt_md.config import MODEL_OPTIONS

CRYSTALS = {  # mlearn elements: train, test; E0s by least squares, 10% validation, trained on stress too
    f"mlearn-{el}": (DATA / "mlearn" / el / "train.xyz", DATA / "mlearn" / el / "test.xyz")
    for el in ("Si", "Ge", "Li", "Mo", "Cu", "Ni")
}
ALL_SYSTEMS = [*SYSTEMS, *CRYSTALS]
CRYSTAL = {"channels": 64, "hidden_lmax": 1}  # the mlearn models' width and angular order (docs/accuracy.md)
VARIANTS: dict[str, dict] = {  # name -> gaunt-md fit settings (flags or model options) that differ from the defaults
    "default": {},  # gaunt-md 0.3.3: as 0.2.0 (normalised, channel-wise product, batch 2, ZBL), float32, hidden_lmax 2, cosine
    "no-prior": {"pair_repulsion": "none"},
    # optimisation
    "lr-0.005": {"lr": 0.005},
    "lr-0.02": {"lr": 0.02},
    "batch-5": {"batch_size": 5},
    "batch-10": {"batch_size": 10},
    "ema-0.9": {"ema_decay": 0.9},
    "cosine": {"lr_schedule": "cosine"},
    # stress (mlearn): the loss weight of the stress in GPa^-2 (default 1)
    "stress-0.1": {"stress_weight": 0.1},
    "stress-10": {"stress_weight": 10.0},
    "channels-64": {"channels": 64},
    "channels-96": {"channels": 96},
    "batch-1": {"batch_size": 1},
    "float32": {"dtype": "float32"},
    "channels-64-float32": {"channels": 64, "dtype": "float32"},
    "energy-weight-10": {"energy_weight": 10.0},
    "energy-weight-100": {"energy_weight": 100.0},
    # crystals: the shipped mlearn settings (64 channels, hidden_lmax 1), and with more weight on energies
    "crystal": CRYSTAL,
    "crystal-energy-100": {**CRYSTAL, "energy_weight": 100.0},
    "crystal-energy-1000": {**CRYSTAL, "energy_weight": 1000.0},
    "crystal-energy-100-compile": {**CRYSTAL, "energy_weight": 100.0, "compile": True},
    "crystal-energy-100-rmax-4": {**CRYSTAL, "energy_weight": 100.0, "r_max": 4.0},
    "crystal-energy-100-batch-1": {**CRYSTAL, "energy_weight": 100.0, "batch_size": 1},
    "crystal-energy-100-cosine": {**CRYSTAL, "energy_weight": 100.0, "lr_schedule": "cosine"},
    "crystal-cosine": {**CRYSTAL, "lr_schedule": "cosine"},
    "crystal-low-stress-cosine": {**CRYSTAL, "stress_weight": 0.1, "lr_schedule": "cosine"},
    "crystal-rmax-4": {**CRYSTAL, "r_max": 4.0},
    "crystal-low-stress-rmax-4": {**CRYSTAL, "stress_weight": 0.1, "r_max": 4.0},
    # mlearn Cu/Ni as shipped (1.1: energy weight 100, stress weight 0.1), and with a shorter cutoff (fewer edges)
    "mlearn-low-stress": {**CRYSTAL, "energy_weight": 100.0, "stress_weight": 0.1},
    "mlearn-low-stress-rmax-4": {**CRYSTAL, "energy_weight": 100.0, "stress_weight": 0.1, "r_max": 4.0},
    # capacity where it is cheap
    "hidden-lmax-2": {"hidden_lmax": 2},
    "float32-hidden-lmax-2": {"dtype": "float32", "hidden_lmax": 2},
    "basis-16": {"num_basis": 16},
    "correlation-2": {"correlation": 2},
    "radial-by-input": {"radial_by_input": True},
    "compiled": {"compile": True},  # as the shipped molecule models are fitted
    "radial-by-input-compiled": {"radial_by_input": True, "compile": True},
    "lr-0.02-compiled": {"lr": 0.02, "compile": True},  # lr 0.02 won water's 90-minute pair (gaunt-water 2.3)
    # acac at 90 minutes: cheaper steps (fewer channels) or larger ones (bigger batches), 30-minute pairs
    "channels-64-compiled": {"channels": 64, "compile": True},
    "batch-4-lr-0.02-compiled": {"batch_size": 4, "lr": 0.02, "compile": True},
    "batch-4-compiled": {"batch_size": 4, "compile": True},
    "batch-8-lr-0.02-compiled": {"batch_size": 8, "lr": 0.02, "compile": True},
    "hidden-lmax-3-compiled": {"hidden_lmax": 3, "compile": True},  # gaunt-acac 2.5's setting
}
SMOKE_MODEL = {"channels": 8, "radial_hidden": 8}
TIMED_FRAMES = {
    "acac": (DATA / "acac" / "test_MD_300K.xyz", 20),
    "water192": (DATA / "water" / "test.xyz", 5),
}  # frame 0, calls/block
WARMUP_ROUNDS, ROUNDS = 2, 9
METRICS = ("energy_rmse", "energy_mae", "forces_rmse", "forces_mae")


def settings_of(variant: str, smoke: bool) -> dict:
    return {**VARIANTS[variant], **(SMOKE_MODEL if smoke else {})}


def first_frames(src: Path, n: int | None, folder: Path) -> Path:
    """``src``, or with ``n`` a copy of its first n frames in ``folder`` (labels kept as energy=/forces)."""
    if n is None:
        return src
    from ase.io import read, write

    path = folder / f"{src.stem}_first{n}.xyz"
    folder.mkdir(parents=True, exist_ok=True)
    write(path, read(src, f":{n}"), format="extxyz")
    return path


def run_name(variant: str, minutes: float | None) -> str:
    """The key of a run in ablation.json: the variant, and its time budget if it had one."""
    return f"{variant}, {minutes:g} min" if minutes else variant


def out_of(system: str, variant: str, minutes: float | None, smoke: bool) -> Path:
    """The results folder of one fit (its console output beside it, with .log appended)."""
    return work_root(smoke) / "ablation" / system / run_name(variant, minutes).replace(", ", "_").replace(" ", "")


def fit_job(system: str, variant: str, epochs: int, minutes: float | None, frames: int | None, smoke: bool) -> Job:
    """The ``gaunt-md fit`` command of one (system, variant), its settings in ``<variant>.yaml``; with
    ``minutes`` a time budget (and a schedule over it) instead of a number of epochs."""
    train, test = SYSTEMS[system][:2] if system in SYSTEMS else CRYSTALS[system]
    out = out_of(system, variant, minutes, smoke)
    work = out.parent
    config = work / f"{variant}.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(settings_of(variant, smoke)))
    train, test = (first_frames(f, frames, work / "data") for f in (train, test))
    length = ["--max-minutes", minutes, "--epochs", 100000] if minutes else ["--epochs", epochs]
    extra = ["--config", config, "--test", test, *length, "--threads", 1, "--seed", 0]
    if system in SYSTEMS:
        cmd = fit_command(system, out, *extra, train=train)
    else:  # a crystal: E0s by least squares, stress labels
        flags = [
            "--train",
            train,
            "--valid-fraction",
            0.1,
            "--e0s",
            "average",
            "--stress-key",
            "stress",
            "--output",
            out,
        ]
        cmd = [sys.executable, "-m", "gaunt_md.cli", "fit", *map(str, [*flags, *extra, "--force"])]
    done = (
        (lambda: f"{len(epoch_rows(out))} epochs") if minutes else (lambda: f"{len(epoch_rows(out))}/{epochs} epochs")
    )
    return Job(f"{system}/{run_name(variant, minutes)}", cmd, work / f"{out.name}.log", done)


def epoch_rows(out: Path) -> list[dict]:
    """Validation errors (meV/atom, meV/Å) and seconds of each epoch logged so far in ``out/log.csv``."""
    if not (out / "log.csv").is_file():
        return []
    return [
        {"epoch": int(r["epoch"]), **{k: float(r[k]) for k in (*METRICS, "seconds")}}
        for r in csv.DictReader((out / "log.csv").open())
    ]


def train(
    systems: list[str],
    variants: list[str],
    epochs: int,
    minutes: float | None,
    parallel: int,
    frames: int | None,
    smoke: bool,
) -> None:
    results, docs = places(smoke)
    jobs = {(s, v): fit_job(s, v, epochs, minutes, frames, smoke) for s in systems for v in variants}
    batches = [
        [jobs[s, v] for v in variants[i : i + parallel]] for s in systems for i in range(0, len(variants), parallel)
    ]
    run_side_by_side(batches)
    entries: dict = {}
    for (system, variant), job in jobs.items():
        out = out_of(system, variant, minutes, smoke)
        if job.returncode:
            print(f"{job.name} failed (exit {job.returncode}), not recorded; its output is in {job.console}")
            continue
        metrics = json.loads((out / "metrics.json").read_text())
        rows = epoch_rows(out)
        entries.setdefault(system, {})[run_name(variant, minutes)] = {
            **provenance(1),
            "fit_command": shlex.join(job.cmd),
            "settings": settings_of(variant, smoke),
            "code": f"gaunt-md {__version__}",
            "epochs": len(rows),
            "training_frames": frames or "all",
            "minutes": job.seconds / 60,
            "seconds_per_epoch": statistics.median(r["seconds"] for r in rows),
            "units": metrics["units"],
            "valid": metrics["valid"],
            "test": metrics["test"],
            "per_epoch": rows,
        }
    write_report(merge_json(results / "ablation.json", entries, depth=2), results, docs)
    if failed := [job.name for job in jobs.values() if job.returncode]:
        raise SystemExit(f"failed: {', '.join(failed)}")


def time_force_calls(variants: list[str], smoke: bool) -> dict:
    """Median ms per force call of each variant's model, and the median per-round ratio to the default."""
    import torch
    from ase.io import read
    from speed import SETTLE_S, gaunt_calls

    from gaunt_md import GauntCalculator, GauntForceField

    variants = ["default", *[v for v in variants if v != "default"]]
    calcs = {}
    for v in variants:
        torch.manual_seed(0)
        model = GauntForceField(
            ("H", "C", "O"), **{k: x for k, x in settings_of(v, smoke).items() if k in MODEL_OPTIONS}
        )
        calcs[v] = GauntCalculator(model, dtype="float32", threads=2)
    frames = {name: read(path, 0) for name, (path, _) in TIMED_FRAMES.items()}
    seconds: dict = {v: {name: [] for name in frames} for v in variants}
    for i in range(WARMUP_ROUNDS + ROUNDS):
        for v, calc in calcs.items():
            for name, atoms in frames.items():
                time.sleep(SETTLE_S)
                t = gaunt_calls(calc, atoms, TIMED_FRAMES[name][1])
                if i >= WARMUP_ROUNDS:
                    seconds[v][name].append(t)
        print(f"timing round {i + 1}/{WARMUP_ROUNDS + ROUNDS}", flush=True)
    ratio = {
        v: {
            name: statistics.median(a / b for a, b in zip(ts, seconds["default"][name]))
            for name, ts in seconds[v].items()
        }
        for v in variants
    }
    return {
        v: {
            **provenance(2),
            "dtype": "float32",
            "rounds": ROUNDS,
            "settings": settings_of(v, smoke),
            **{f"{name}_ms": 1e3 * statistics.median(ts) for name, ts in seconds[v].items()},
            **{f"{name}_ratio": r for name, r in ratio[v].items()},
        }
        for v in variants
    }


def write_report(data: dict, results: Path, docs: Path) -> None:
    report(data, results, docs, ALL_SYSTEMS, set(CRYSTALS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", nargs="+", choices=ALL_SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["default", "no-prior"])
    parser.add_argument("--epochs", type=int, help="epochs per fit [default: 60; 2 with --smoke]")
    parser.add_argument("--minutes", type=float, help="a time budget per fit instead of a number of epochs")
    parser.add_argument("--parallel", type=int, default=2, help="fits at a time, one thread each")
    parser.add_argument(
        "--frames", type=int, help="only the first FRAMES training and test frames (a smoke run, not a result)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny models (channels 8), 20 frames, 2 epochs; outputs in benchmarks/_work/smoke",
    )
    parser.add_argument(
        "--timing", action="store_true", help="only the force-call timing (nothing else may run meanwhile)"
    )
    parser.add_argument("--report", action="store_true", help="only the docs section and PNGs, from the JSON")
    args = parser.parse_args()
    results, docs = places(args.smoke)
    if args.report:
        write_report(json.loads((results / "ablation.json").read_text()), results, docs)
    elif args.timing:
        write_report(
            merge_json(results / "ablation.json", {"force_call": time_force_calls(args.variants, args.smoke)}, depth=2),
            results,
            docs,
        )
    else:
        frames = args.frames or (20 if args.smoke else None)
        epochs = args.epochs or (2 if args.smoke else 60)
        train(args.systems, args.variants, epochs, args.minutes, args.parallel, frames, args.smoke)


if __name__ == "__main__":
    main()
