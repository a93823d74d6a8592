"""``gaunt-md fit --committee N``: N members fitted side by side, then one calibrated committee file.

Member k is an ordinary fit into ``OUTPUT/member_k`` with ``member=k``: the same validation split,
its own initial weights and batch order (and, with ``bootstrap``, its own resample of the training
frames). Members run as ``gaunt-md fit`` processes, as many at a time as the cores allow with one
thread each (or ``threads`` each), their lines prefixed with ``[member k]``. At the end the spread is
calibrated on the validation frames (:func:`gaunt_md.uncertainty.calibration_scale`, one factor) and
``OUTPUT/committee.pt`` is written, with ``OUTPUT/metrics.json`` (the committee mean's errors and the
uncertainty metrics on the validation and test frames) and ``OUTPUT/uncertainty_<split>.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import yaml

from ..config import FitConfig
from ..errors import UNITS
from .data import load_data


def fit_committee(cfg: FitConfig, resume: bool = False, force: bool = False) -> dict:
    """Fit ``cfg.committee`` members and write the committee; returns metrics.json's content."""
    cfg.check()
    out = Path(cfg.output)
    if not resume and not force and out.exists() and any(out.iterdir()):
        raise ValueError(
            f"results folder {out} exists and is not empty; use --resume to continue or --force to replace it"
        )
    data = load_data(cfg)  # bad data or settings fail here, before any file is touched
    if force and not resume and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    config = out / "config.yaml"
    config.write_text(yaml.safe_dump({**asdict(cfg), "model": cfg.given_model}, sort_keys=False, allow_unicode=True))
    parallel, threads = layout(cfg.committee, cfg.threads)
    print(f"committee of {cfg.committee} into {out}: {parallel} member(s) at a time, {threads} thread(s) each")
    jobs = [_member_command(config, out, k, threads, resume) for k in range(cfg.committee)]
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        codes = list(pool.map(_run_member, range(cfg.committee), jobs))
    failed = [k for k, code in enumerate(codes) if code != 0]
    if failed:
        raise ValueError(f"committee member(s) {failed} failed; their output is above, their files in {out}")
    return calibrate_and_save(out, cfg, data)


def layout(members: int, threads: int | None) -> tuple[int, int]:
    """(members at a time, threads each): one thread per core unless ``threads`` is given."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = threads or max(1, cores // min(members, cores))
    return max(1, min(members, cores // threads)), threads


def _member_command(config: Path, out: Path, k: int, threads: int, resume: bool) -> list[str] | None:
    """The ``gaunt-md fit`` of member k (None if a resumed committee has it finished already)."""
    folder = out / f"member_{k}"
    if resume and (folder / "model.pt").is_file():
        return None
    flags = ["--config", config, "--output", folder, "--committee", 1, "--member", k, "--threads", threads]
    if resume and (folder / "checkpoints" / "latest.pt").is_file():
        flags.append("--resume")
    return [sys.executable, "-m", "gaunt_md.cli", "fit", *map(str, flags)]


def _run_member(k: int, cmd: list[str] | None) -> int:
    """Run one member, its output lines prefixed; its exit status."""
    if cmd is None:
        print(f"[member {k}] already fitted", flush=True)
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": cmd[cmd.index("--threads") + 1]}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        for line in proc.stdout:
            print(f"[member {k}] {line}", end="", flush=True)
    return proc.returncode


def calibrate_and_save(out: Path, cfg: FitConfig, data) -> dict:
    """Committee of ``out/member_*/model.pt``, its std scale from the validation frames, committee.pt,
    metrics.json and the calibration PNGs."""
    from ..calculator import GauntCalculator
    from ..committee import Committee
    from ..evaluation import error_table, predictions
    from ..model import GauntForceField
    from ..uncertainty import (
        calibration_plot,
        calibration_scale,
        errors_and_stds,
        frame_max_stds,
        gate_threshold,
        uncertainty_metrics,
    )

    members = [GauntForceField.load(out / f"member_{k}" / "model.pt") for k in range(cfg.committee)]
    committee = Committee(members)
    calc = GauntCalculator(committee, device=cfg.device, dtype="float64", threads=cfg.threads)
    splits = {"valid": data.valid, "test": data.test}
    preds = {split: predictions(calc, frames) for split, frames in splits.items() if frames}
    committee.std_scale = calibration_scale(*errors_and_stds(data.valid, preds["valid"]))
    committee.max_force_std = gate_threshold(committee.std_scale * frame_max_stds(preds["valid"]))
    committee.save(out / "committee.pt")
    result: dict = {
        "units": {**UNITS, "max_force_std": "eV/Å"},
        "std_scale": committee.std_scale,
        "max_force_std": committee.max_force_std,
    }
    for split, frames in splits.items():
        if not frames:
            continue
        errors, stds = errors_and_stds(frames, preds[split])
        stds = stds * committee.std_scale
        above = int(np.sum(committee.std_scale * frame_max_stds(preds[split]) > committee.max_force_std))
        result[split] = {
            **error_table(frames, preds[split])["all"],
            "uncertainty": uncertainty_metrics(errors, stds),
            "frames_above_max_force_std": above,
        }
        calibration_plot(errors, stds, out / f"uncertainty_{split}.png", f"committee of {cfg.committee}, {split}")
        u = result[split]["uncertainty"]
        print(
            f"committee {split}: F RMSE {result[split]['forces_rmse']:.1f} meV/Å | force std vs error: Spearman "
            f"{u['spearman']:.2f}, RMS error/std {u['error_over_std']:.2f}, within 2 std {100 * u['within_2_std']:.0f}%"
        )
    (out / "metrics.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(
        f"std scale {committee.std_scale:.3f} (calibrated on {len(data.valid)} validation frames); MD threshold "
        f"max_force_std {committee.max_force_std:.3f} eV/Å (the largest validation frame's); wrote {out / 'committee.pt'}"
    )
    return result
