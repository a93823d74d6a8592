"""How the shipped models are made: fit, package (weights + card + registry entry), accept.

    python models/build.py fit gaunt-3bpa --minutes 70        # gaunt-md fit into models/_work/NAME
    python models/build.py package gaunt-3bpa [--results DIR] # weights, test metrics, parity plot, registry
    python models/build.py rescore gaunt-3bpa                 # evaluate the shipped weights again
    python models/build.py accept gaunt-3bpa                  # NVE drift, relaxation (+ water: RDF, density)
    python models/build.py card gaunt-3bpa                    # models/NAME.md from the JSON files

Every step runs the ``gaunt-md`` command line, as a user would. ``models/_work/`` is not committed;
the weights (``NAME-VERSION.pt``), cards (``NAME.md``), parity plots and acceptance numbers
(``NAME.json``) are. ``models/`` ships one version per name: registering a new version removes the
older one's weights and entry (they stay in the git history).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import sys
from pathlib import Path

from acceptance import accept, summarise
from cards import card
from catalogue import DATA, HERE, MODELS, WORK, gaunt_md, version_of, weights_of


def fit(name: str, minutes: float, threads: int | None) -> None:
    m = MODELS[name]
    e0s = m["e0s"] if m["e0s"] == "average" else DATA / m["e0s"]
    settings = (  # non-defaults
        "dtype",
        "batch_size",
        "channels",
        "hidden_lmax",
        "r_max",
        "lr_schedule",
        "lr",
        "energy_weight",
        "stage_two_energy_weight",
        "stress_key",
        "stress_weight",
        "stress_offset",
        "config_type_weights",
        "loss",
        "huber_delta",
    )
    extra = [
        f"--{k.replace('_', '-')}={json.dumps(m[k]) if isinstance(m[k], dict) else m[k]}" for k in settings if k in m
    ] + ["--compile"] * m.get("compile", False)
    # valid_in_training: the settings were chosen on the validation split; this fit trains on every frame,
    # and the split's frames (now training frames too) only pick the checkpoint
    if m.get("independent_valid"):  # every frame trained on; the epoch picked on frames of another set
        from independent import write_files

        split = ["--valid", write_files()[0]]
    elif m.get("valid_in_training"):
        from dataclasses import fields

        from gaunt_md.config import FitConfig

        seed = next(f.default for f in fields(FitConfig) if f.name == "seed")  # the fit below runs with it
        split = ["--valid", _validation_file(name, m["valid_fraction"], seed)[0]]
    else:
        split = []
    gaunt_md(
        "fit",
        "--train",
        DATA / m["train"],
        "--valid-fraction",
        m["valid_fraction"],
        *split,
        "--e0s",
        e0s,
        "--output",
        WORK / name,
        "--max-minutes",
        minutes,
        "--epochs",
        100000,
        *extra,
        "--force",
        *(["--threads", threads] if threads else []),
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refinish(results: Path) -> None:
    """Redo the last step of a finished ``gaunt-md fit`` (the energy shift of model.pt, metrics.json)
    with this gaunt-md's rule, from its checkpoints: what the current ``gaunt-md fit`` would have
    written after the same training (used when the median shift replaced the mean, 2026-12-03)."""
    from gaunt_md.config import FitConfig
    from gaunt_md.train.fit import finish, setup

    finish(setup(FitConfig.from_sources(results / "config.yaml"), resume=True, force=False))


def package(name: str, results: Path) -> None:
    """Copy the fitted model, evaluate it on its test file (or validation split) and register it."""
    import yaml

    m = MODELS[name]
    weights = weights_of(name)
    shutil.copyfile(results / "model.pt", weights)
    config = yaml.safe_load((results / "config.yaml").read_text())
    log = list(csv.DictReader((results / "log.csv").open()))
    training = {
        "file": m["train"],
        "epochs": len(log),
        "minutes": sum(float(r["seconds"]) for r in log) / 60,
        "hardware": m.get("hardware", "2 shared CPU cores (no GPU)"),
        "config": config,
    }
    from gaunt_md import GauntForceField

    best = GauntForceField.load(results / "checkpoints" / "best.pt")  # gaunt-md fit refits the shift of this one
    training["shift_refit_meV_per_atom"] = 1e3 * (GauntForceField.load(weights).config.shift - best.config.shift)
    _score(name, training)


def rescore(name: str) -> None:
    """Evaluate the shipped weights again (after a change to evaluation), keeping the training record."""
    _score(name, json.loads((HERE / f"{name}.json").read_text())["training"])


def _score(name: str, training: dict) -> None:
    """Test metrics and parity plot of the shipped weights; updates NAME.json and the registry."""
    m, config = MODELS[name], training["config"]
    weights = weights_of(name)
    if m["test"]:
        test_file, test_label = DATA / m["test"], m["test"]
    else:  # the held-out validation frames, rebuilt exactly as gaunt-md fit split them
        test_file, n_valid = _validation_file(name, config["valid_fraction"], config["seed"])
        test_label = f"{m['train']} (validation split: {n_valid} frames held out of training)"
    stress = ["--stress-key", m["stress_key"]] if "stress_key" in m else []
    stress += ["--stress-offset", m["stress_offset"]] if "stress_offset" in m else []  # as the fit saw the labels
    gaunt_md("eval", weights, test_file, *stress, "--json", WORK / f"{name}_test.json", "--plot",
             HERE / f"{name}_parity.png", "--force")  # fmt: skip
    groups = next(iter(json.loads((WORK / f"{name}_test.json").read_text())["files"].values()))
    metrics = groups["all"]
    info = {
        "name": name,
        "version": version_of(name),
        "test_file": test_label,
        "test_metrics": metrics,
        "test_metrics_by_config_type": {k: v for k, v in groups.items() if k != "all"},
        **(
            {"test_metrics_by_group": _group_metrics(name, test_file, m["test_groups"], stress)}
            if "test_groups" in m
            else {}
        ),
        "training": training,
    }
    path = HERE / f"{name}.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**old, **info}, indent=2))
    _register(name, weights, config, metrics, test_label, m)


def _validation_file(name: str, fraction: float, seed: int) -> tuple[Path, int]:
    """The frames of NAME's training file that ``gaunt-md fit --valid-fraction FRACTION --seed SEED`` holds out,
    written to models/_work/NAME_validation.xyz; returns the file and the number of frames."""
    from ase.io import read, write

    from gaunt_md.data import validation_split

    frames = read(DATA / MODELS[name]["train"], ":")
    valid, _ = validation_split(len(frames), fraction, seed)
    path = WORK / f"{name}_validation.xyz"
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, [frames[i] for i in valid])
    return path, len(valid)


def _group_metrics(name: str, test_file: Path, test_groups: dict[str, tuple], flags: list) -> dict:
    """Test metrics of each named group of config_types (e.g. elemental, binary, quaternary)."""
    from ase.io import read, write

    frames = read(test_file, ":")
    result = {}
    for group, types in test_groups.items():
        subset, report = WORK / f"{name}_{group}.xyz", WORK / f"{name}_{group}.json"
        write(subset, [a for a in frames if a.info.get("config_type") in types])
        gaunt_md("eval", weights_of(name), subset, *flags, "--json", report, "--force")
        result[group] = next(iter(json.loads(report.read_text())["files"].values()))["all"]
    return result


def _register(name: str, weights: Path, config: dict, metrics: dict, test_label: str, m: dict) -> None:
    from ase.data import chemical_symbols

    from gaunt_md import GauntForceField

    model = GauntForceField.load(weights)
    registry_file = HERE / "registry.json"
    registry = json.loads(registry_file.read_text())
    entry = {
        "name": name,
        "version": version_of(name),
        "file": weights.name,
        "size": weights.stat().st_size,
        "sha256": _sha256(weights),
        "url": None,
        "elements": [chemical_symbols[z] for z in model.config.elements],
        "r_max": model.config.r_max,
        "metrics": {
            "test_file": test_label,
            "energy_rmse_meV_per_atom": round(metrics["energy_rmse"], 3),
            "forces_rmse_meV_per_A": round(metrics["forces_rmse"], 2),
            "forces_mae_meV_per_A": round(metrics["forces_mae"], 2),
        },
        "licence": m["licence"],
        "description": m["what"],
    }
    for old in registry["models"]:  # one version per name ships
        if old["name"] == name and old["file"] != weights.name:
            (HERE / old["file"]).unlink(missing_ok=True)
    registry["models"] = [e for e in registry["models"] if e["name"] != name] + [entry]
    registry["models"].sort(key=lambda e: (e["name"], e["version"]))
    registry_file.write_text(json.dumps(registry, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "step", choices=["fit", "refinish", "package", "rescore", "accept", "summarise", "card", "materials-docs"]
    )
    parser.add_argument("name", choices=MODELS, nargs="?", help="the model (every step but materials-docs)")
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--results", type=Path, help="a gaunt-md fit results folder (default models/_work/NAME)")
    parser.add_argument(
        "--part", action="append", default=[], help="accept: nve, relax, nvt, npt (default: all that apply)"
    )
    args = parser.parse_args()
    if args.step == "materials-docs":  # the mlearn table of docs/accuracy.md from the models' JSON files
        sys.path.insert(0, str(HERE.parent / "benchmarks"))
        from _docs import write_section
        from materials import docs_table

        heading = "Materials: the mlearn benchmark"
        return write_section(HERE.parent / "docs" / "accuracy.md", "mlearn", heading, docs_table())
    if args.name is None:
        parser.error(f"{args.step} needs a model name")
    if args.step == "fit":
        fit(args.name, args.minutes, args.threads)
    elif args.step == "refinish":
        refinish(args.results or WORK / args.name)
    elif args.step == "package":
        package(args.name, args.results or WORK / args.name)
    elif args.step == "rescore":
        rescore(args.name)
    elif args.step == "accept":
        accept(args.name, args.part)
    elif args.step == "summarise":  # the numbers of MD runs so far, e.g. of a run stopped early
        for part in args.part:
            print(json.dumps(summarise(args.name, part), indent=2))
    else:
        card(args.name)


if __name__ == "__main__":
    main()
