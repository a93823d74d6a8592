"""What the ablation and pair-prior benchmarks share: ``gaunt-md`` commands run side by side, one
thread each, with progress lines; results merged into a JSON file; where smoke runs write."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GAUNT_MD = [sys.executable, "-m", "gaunt_md.cli"]


def work_root(smoke: bool) -> Path:
    """Where the runs work (git-ignored): benchmarks/_work, or benchmarks/_work/smoke for smoke runs."""
    return ROOT / "benchmarks" / "_work" / ("smoke" if smoke else "")


def places(smoke: bool) -> tuple[Path, Path]:
    """(results folder, docs file): the committed ones, or for a smoke run both in benchmarks/_work/smoke."""
    if smoke:
        return work_root(True), work_root(True) / "accuracy.md"
    return ROOT / "benchmarks" / "results", ROOT / "docs" / "accuracy.md"


def shipped_config(name: str) -> dict:
    """The ``gaunt-md fit`` settings a shipped model was trained with (``training.config`` of models/NAME.json)."""
    return json.loads((ROOT / "models" / f"{name}.json").read_text())["training"]["config"]


def provenance(threads: int) -> dict:
    """The command line, date, torch version and thread count of this run."""
    return {
        "command": shlex.join(["python", *sys.argv]),
        "date": date.today().isoformat(),
        "torch": version("torch"),
        "threads": threads,
    }


@dataclass
class Job:
    """One command; ``progress`` says how far it got (e.g. "12 epochs"); its output goes to ``console``."""

    name: str
    cmd: list[str]
    console: Path
    progress: Callable[[], str]
    returncode: int | None = None
    seconds: float = 0.0


def run_side_by_side(batches: list[list[Job]], poll_s: float = 60.0) -> None:
    """Run the jobs of each batch at the same time (OMP_NUM_THREADS=1), batch after batch, printing
    their progress every ``poll_s`` seconds; fills in each job's exit code and wall seconds."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for batch in batches:
        t0, procs = time.perf_counter(), []
        for job in batch:
            job.console.parent.mkdir(parents=True, exist_ok=True)
            with job.console.open("w") as out:
                procs.append((job, subprocess.Popen(job.cmd, stdout=out, stderr=subprocess.STDOUT, env=env)))
            print(f"started {job.name}: {shlex.join(job.cmd)}", flush=True)
        last_print = t0
        while procs:
            time.sleep(1)
            for job, proc in list(procs):
                if proc.poll() is not None:
                    job.returncode, job.seconds = proc.returncode, time.perf_counter() - t0
                    print(
                        f"finished {job.name}: exit {proc.returncode} after {job.seconds / 60:.1f} min, {job.progress()}",
                        flush=True,
                    )
                    procs.remove((job, proc))
            if procs and time.perf_counter() - last_print >= poll_s:
                last_print = time.perf_counter()
                print(
                    f"{(last_print - t0) / 60:.1f} min: "
                    + "; ".join(f"{job.name} {job.progress()}" for job, _ in procs),
                    flush=True,
                )


def merge_json(path: Path, updates: dict, depth: int) -> dict:
    """Merge ``updates`` into the JSON file at ``path`` down to ``depth`` levels of keys (entries
    below that are replaced whole; all others are kept); returns the merged data."""

    def merge(old: dict, new: dict, level: int) -> dict:
        return {
            **old,
            **{
                k: merge(old.get(k, {}), v, level + 1) if level < depth and isinstance(v, dict) else v
                for k, v in new.items()
            },
        }

    data = merge(json.loads(path.read_text()) if path.is_file() else {}, updates, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return data
