"""How well mlearn crystal models generalise to surface facets they never saw.

The mlearn test errors of Si, Ge and Mo sit mostly on their one or two surface slabs, and the usual 10%
validation split holds almost none, so it cannot choose settings for them. This check holds ``--surfaces``
of the training file's surface slabs out as well (chosen with ``numpy.random.default_rng(DRAW)`` among the
training part of ``validation_split(n, 0.1, 0)``; validation = that split's frames plus those slabs),
fits each variant from the shipped model's ``training.config`` with ``--minutes`` of one thread, the
variants side by side in pairs, and evaluates each on the validation file per config_type (float64);
prints the markdown table of docs/accuracy.md (materials). The runs of 2026-12-06::

    python benchmarks/held_out_surfaces.py --elements Si Ge Mo --variants shipped one-layer --minutes 15
    python benchmarks/held_out_surfaces.py --elements Si Ge Mo --variants hidden-lmax-2 seed-1 --minutes 15
    python benchmarks/held_out_surfaces.py --elements Mo --variants shipped hidden-lmax-2 --draw 1 --minutes 15

"shipped" is the model shipped on the day of the run (Si 1.0 on 2026-12-06; Si 1.1 came of these runs).
Results: ``benchmarks/results/held_out_surfaces.json``; fits in ``benchmarks/_work/held-surfaces``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _runs import GAUNT_MD, ROOT, Job, merge_json, provenance, run_side_by_side
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


def config_for(element: str, case: str, variant: str, train: Path, valid: Path, minutes: float) -> Path:
    """The shipped model's training config with this split, budget and variant, written as JSON."""
    shipped = json.loads((ROOT / "models" / f"gaunt-mlearn-{element}.json").read_text())["training"]["config"]
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
    path = WORK / case / f"{variant}.json"
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
    parser.add_argument("--draw", type=int, default=0, help="seed of the held-out slabs' draw")
    parser.add_argument("--parallel", type=int, default=2, help="fits at a time (one thread each)")
    parser.add_argument("--skip-fit", action="store_true", help="only evaluate the fits already in the work folder")
    args = parser.parse_args()

    jobs, held = [], {}
    for element in args.elements:
        case = case_of(element, args.draw)
        train, valid, held[case] = split_files(element, args.surfaces, args.draw)
        for variant in args.variants:
            config = config_for(element, case, variant, train, valid, args.minutes)
            out = WORK / case / variant
            cmd = [*GAUNT_MD, "fit", "--config", str(config), "--threads", "1", "--force"]
            jobs.append(
                Job(f"{case} {variant}", cmd, WORK / case / f"{variant}.log", lambda o=out: f"{epochs_in(o)} epochs")
            )
    if not args.skip_fit:
        run_side_by_side([jobs[i : i + args.parallel] for i in range(0, len(jobs), args.parallel)])

    for job in jobs:
        case, variant = job.name.split()
        out = WORK / case / variant
        model = out / "model.pt"
        table = out / "valid_eval.json"
        config = json.loads((WORK / case / f"{variant}.json").read_text())
        cmd = [*GAUNT_MD, "eval", str(model), str(WORK / case / "valid.xyz"), "--json", str(table), "--force"]
        cmd += ["--threads", "2"]
        if config["stress_key"]:
            cmd += ["--stress-key", config["stress_key"], "--stress-offset", str(config.get("stress_offset", 0.0))]
        run_side_by_side([[Job(f"eval {job.name}", cmd, out / "eval.log", lambda: "")]])
        groups = next(iter(json.loads(table.read_text())["files"].values()))
        merge_json(
            RESULTS,
            {
                case: {
                    "held_out_surfaces": held[case],
                    variant: {
                        "epochs": epochs_in(out),
                        "minutes": args.minutes,
                        "valid": groups,
                        "provenance": provenance(1),
                    },
                }
            },
            depth=2,
        )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    print(markdown_table(json.loads(RESULTS.read_text())))


def markdown_table(results: dict) -> str:
    """E MAE / F MAE (meV/atom, meV/Å) per validation group of every element and variant run."""
    groups = ["Surface", "AIMD-NVT", "Vacancy", "Elastic", "all"]
    lines = ["| element | variant | epochs | " + " | ".join(groups) + " |", "|---|---|---|" + "---|" * len(groups)]
    for element, runs in results.items():
        for variant, run in runs.items():
            if variant == "held_out_surfaces":
                continue
            v = run["valid"]
            cells = [f"{v[g]['energy_mae']:.2f} / {v[g]['forces_mae']:.1f} ({v[g]['frames']})" for g in groups]
            lines.append(f"| {element} | {variant} | {run['epochs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
