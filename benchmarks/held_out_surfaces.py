"""How well mlearn crystal models generalise to surface facets they never saw.

The mlearn test errors of Si, Ge and Mo sit mostly on their one or two surface slabs, and the usual 10%
validation split holds almost none, so it cannot choose settings for them. This check holds ``--surfaces``
of the training file's surface slabs out as well (chosen with ``numpy.random.default_rng(DRAW)`` for each of
``--draws`` among the training part of ``validation_split(n, 0.1, 0)``; validation = that split's frames plus those
slabs), fits each variant from the shipped model's ``training.config`` with ``--minutes`` of one thread, the
variants side by side in pairs, and evaluates each per config_type (float64) on the validation file and on its own
training file (the column "training slabs": how well it fits the slabs it trained on); prints the markdown table of
docs/accuracy.md (materials). The runs of 2026-12-06::

    python benchmarks/held_out_surfaces.py --elements Si Ge Mo --variants shipped one-layer --minutes 15
    python benchmarks/held_out_surfaces.py --elements Si Ge Mo --variants hidden-lmax-2 seed-1 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Mo --variants shipped hidden-lmax-2 --draws 1 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Si Ge --variants surface-weight-10 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Mo --draws 0 1 --variants surface-weight-10 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Ge --draws 1 --variants shipped surface-weight-10 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Ge Mo --variants channels-128 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Ge Mo --skip-fit \\
        --variants shipped seed-1 surface-weight-10 channels-128
    python benchmarks/held_out_surfaces.py --elements Ge Mo --variants surface-weight-100 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Mo --variants r-max-6 three-layers --minutes 15

and of 2026-12-07 (the shipped settings again beside the new variant)::

    python benchmarks/held_out_surfaces.py --elements Ge Si --variants shipped-0.3.14 surface-repeat-3 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Mo --variants shipped-0.3.14 surface-repeat-3 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Ge Si --variants surface-repeat-2 --minutes 15

(the first under gaunt-md 0.3.14, writing its training file with each slab three times; ``config_type_repeats``,
added in 0.3.15 for the second, builds the same list of frames)

and later the same day, with the compiled training step::

    python benchmarks/held_out_surfaces.py --elements Ge --variants surface-repeat-3-compiled --minutes 15
    python benchmarks/held_out_surfaces.py --elements Si --variants shipped-2026-12-08 --minutes 15

"shipped" is the model shipped on the day of the run (Si 1.0 until Si 1.1 came of these runs, so Si's later
variants start from 1.1's settings, hidden_lmax 2). ``--skip-fit`` evaluates existing fits again and keeps their
epochs and provenance (the ``--skip-fit`` line added the training-file column to runs made before it existed).
Results: ``benchmarks/results/held_out_surfaces.json``; fits in ``benchmarks/_work/held-surfaces``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _runs import GAUNT_MD, ROOT, Job, merge_json, provenance, run_side_by_side, shipped_config
from ase.io import read, write

from gaunt_md.data.split import validation_split

DATA = ROOT.parent / "shared" / "data" / "mlearn"
WORK = ROOT / "benchmarks" / "_work" / "held-surfaces"
RESULTS = ROOT / "benchmarks" / "results" / "held_out_surfaces.json"
VARIANTS = {  # overrides of the shipped model's training.config (and of its "model" entry)
    "shipped": {},
    "seed-1": {"seed": 1},  # the shipped settings again: how far two runs of one setting scatter
    "one-layer": {"model": {"num_layers": 1}},
    "hidden-lmax-2": {"model": {"hidden_lmax": 2}},
    "surface-weight-10": {"config_type_weights": {"Surface": 10.0}},  # every loss term of a slab weighs 10x
    "surface-weight-100": {"config_type_weights": {"Surface": 100.0}},  # can the training slabs be fitted at all?
    "channels-128": {"model": {"channels": 128}},  # twice the width: do the training slabs fit better?
    "r-max-6": {"model": {"r_max": 6.0}},  # more neighbour shells per layer
    "three-layers": {"model": {"num_layers": 3}},  # a wider receptive field (15 Å)
    "shipped-0.3.14": {},  # the shipped settings again under gaunt-md 0.3.14, beside surface-repeat-3
    # each training slab three times per epoch: more optimiser steps on the slabs, where a loss weight only scales
    # each step (Adam divides by the running gradient scale, the clip caps the norm)
    "surface-repeat-3": {"config_type_repeats": {"Surface": 3}},
    "surface-repeat-2": {"config_type_repeats": {"Surface": 2}},  # milder: do the hot AIMD frames lose less?
    # the slabs three times with the compiled step (about 1.6x the epochs of Ge's eager 15 minutes)
    "surface-repeat-3-compiled": {"config_type_repeats": {"Surface": 3}, "compile": True},
    "shipped-2026-12-08": {},  # the shipped settings as of that day: Si 1.2's energy weights, cosine, compiled
}


def case_of(element: str, draw: int) -> str:
    """The name of one element's held-out draw: its work folder and its key in the results."""
    return element if draw == 0 else f"{element}-draw-{draw}"


def split_files(element: str, surfaces: int, draw: int) -> tuple[Path, Path, list[int]]:
    """Write train.xyz and valid.xyz for ``element``; returns them and the held-out slabs' indices."""
    frames = read(DATA / element / "train.xyz", index=":")
    valid, train = validation_split(len(frames), 0.1, 0)
    slabs = [i for i in train if frames[i].info.get("config_type") == "Surface"]
    held = sorted(np.random.default_rng(draw).choice(slabs, size=surfaces, replace=False).tolist())
    folder = WORK / case_of(element, draw)
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "train.xyz", [frames[i] for i in train if i not in held])
    write(folder / "valid.xyz", [frames[i] for i in valid + held])
    return folder / "train.xyz", folder / "valid.xyz", held


def config_path(case: str, variant: str) -> Path:
    """Where one run's fit config lives (JSON); the run writes into the folder of the same name."""
    return WORK / case / f"{variant}.json"


def config_for(element: str, case: str, variant: str, train: Path, valid: Path, minutes: float) -> Path:
    """The shipped model's training config with this split, budget and variant, written as JSON."""
    shipped = shipped_config(f"gaunt-mlearn-{element}")
    out = WORK / case / variant
    changes = VARIANTS[variant]
    config = {
        **shipped,
        **changes,
        "train": str(train),
        "valid": str(valid),
        "test": None,
        "output": str(out),
        "max_minutes": minutes,
        "threads": 1,
        "model": {**shipped["model"], **changes.get("model", {})},
    }
    path = config_path(case, variant)
    path.write_text(json.dumps(config, indent=1))
    return path


def epochs_in(out: Path) -> int:
    """Epochs finished by the fit writing into ``out`` (rows of its log.csv)."""
    log = out / "log.csv"
    return max(0, len(log.read_text().splitlines()) - 1) if log.is_file() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", nargs="+", default=["Si", "Ge", "Mo"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--surfaces", type=int, default=3, help="training slabs held out per element")
    parser.add_argument("--draws", nargs="+", type=int, default=[0], help="seeds of the held-out slabs' draws")
    parser.add_argument("--parallel", type=int, default=2, help="fits at a time (one thread each)")
    parser.add_argument("--skip-fit", action="store_true", help="only evaluate the fits already in the work folder")
    args = parser.parse_args()

    jobs, held = [], {}
    for element, draw in [(e, d) for e in args.elements for d in args.draws]:
        case = case_of(element, draw)
        train, valid, held[case] = split_files(element, args.surfaces, draw)
        for variant in args.variants:
            out = WORK / case / variant
            config = (
                config_path(case, variant)
                if args.skip_fit
                else config_for(element, case, variant, train, valid, args.minutes)
            )
            cmd = [*GAUNT_MD, "fit", "--config", str(config), "--threads", "1", "--force"]
            jobs.append(
                Job(f"{case} {variant}", cmd, WORK / case / f"{variant}.log", lambda o=out: f"{epochs_in(o)} epochs")
            )
    if not args.skip_fit:
        run_side_by_side([jobs[i : i + args.parallel] for i in range(0, len(jobs), args.parallel)])

    for job in jobs:
        case, variant = job.name.split()
        out = WORK / case / variant
        table = out / "eval.json"
        config = json.loads(config_path(case, variant).read_text())
        files = [str(WORK / case / "valid.xyz"), str(WORK / case / "train.xyz")]
        cmd = [*GAUNT_MD, "eval", str(out / "model.pt"), *files, "--json", str(table), "--force", "--threads", "2"]
        if config["stress_key"]:
            cmd += ["--stress-key", config["stress_key"], "--stress-offset", str(config.get("stress_offset", 0.0))]
        run_side_by_side([[Job(f"eval {job.name}", cmd, out / "eval.log", lambda: "")]])
        groups = json.loads(table.read_text())["files"]
        entry = {"valid": groups[files[0]], "train": groups[files[1]]}  # train: how well it fits its own frames
        if not args.skip_fit:
            entry |= {"epochs": epochs_in(out), "minutes": args.minutes, "provenance": provenance(1)}
        merge_json(RESULTS, {case: {"held_out_surfaces": held[case], variant: entry}}, depth=3)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    print(markdown_table(json.loads(RESULTS.read_text())))


def markdown_table(results: dict) -> str:
    """E MAE / F MAE (meV/atom, meV/Å) per validation group of every element and variant run, and on the run's own
    training slabs where measured."""
    groups = ["Surface", "AIMD-NVT", "Vacancy", "Elastic", "all"]
    head = ["element", "variant", "epochs", *groups, "training slabs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for element, runs in results.items():
        for variant, run in runs.items():
            if variant == "held_out_surfaces":
                continue
            v = run["valid"]
            cells = [f"{v[g]['energy_mae']:.2f} / {v[g]['forces_mae']:.1f} ({v[g]['frames']})" for g in groups]
            slabs = run.get("train", {}).get("Surface")
            cells.append(f"{slabs['energy_mae']:.2f} / {slabs['forces_mae']:.1f}" if slabs else "")
            lines.append(f"| {element} | {variant} | {run['epochs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
