"""The resumable state of a fit: ``checkpoints/latest.pt`` (written by atomic rename every epoch) and its log."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import torch

from ..files import atomic_write
from ..formats import FORMAT_VERSION

LOG_FIELDS = [
    "epoch",
    "train_loss",
    "valid_loss",
    "energy_rmse",
    "energy_mae",
    "forces_rmse",
    "forces_mae",
    "stress_rmse",
    "stress_mae",
    "lr",
    "seconds",
    "energy_huber",  # with loss huber: the mean validation penalties (gaunt_md.train.metrics.penalty)
    "forces_huber",
    "stress_huber",
]


def save_checkpoint(run, epoch: int, elapsed: float) -> None:
    """Model, EMA, optimiser, scheduler and RNG states after ``epoch`` (0-based)."""
    state = {
        "format_version": FORMAT_VERSION,  # of the model inside
        "model": run.model.state_dict(),
        "ema": run.ema.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "rng": _rng_state(),
        "epoch": epoch,
        "best": run.best,
        "since_best": run.since_best,
        "elapsed": elapsed,
    }
    atomic_write(run.out / "checkpoints" / "latest.pt", lambda tmp: torch.save(state, tmp))


def load_checkpoint(run) -> None:
    """Restore a run from ``latest.pt``: it continues exactly where the last finished epoch left it."""
    path = run.out / "checkpoints" / "latest.pt"
    state = torch.load(path, map_location=run.device, weights_only=False)
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by gaunt-md 0.1 (model format {state.get('format_version', '1-2')}), whose model "
            f"trains differently (format {FORMAT_VERSION} changed its initialisation and many-body product); it "
            "cannot be resumed: start a new fit, or use its best model (checkpoints/best.pt loads as it was)"
        )
    run.model.load_state_dict(state["model"])
    run.ema.load_state_dict(state["ema"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])
    run.start_epoch, run.best, run.since_best, run.elapsed_before = (
        state["epoch"] + 1,
        state["best"],
        state["since_best"],
        state["elapsed"],
    )


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def start_log(path: Path, resume_after: int | None) -> None:
    """A new log (header only), or on resume the rows up to epoch ``resume_after``: a run killed after
    logging an epoch but before its checkpoint redoes that epoch, and logs it once."""
    rows = (
        [r for r in csv.DictReader(path.open()) if int(r["epoch"]) <= resume_after] if resume_after is not None else []
    )
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def append_log(path: Path, row: dict) -> None:
    with path.open("a", newline="") as fh:
        csv.DictWriter(fh, LOG_FIELDS, extrasaction="ignore").writerow(row)
