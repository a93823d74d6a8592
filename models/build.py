"""How the shipped models are made: fit, package (weights + card + registry entry), accept.

    python models/build.py fit gaunt-3bpa --minutes 70        # gaunt-md fit into models/_work/NAME
    python models/build.py package gaunt-3bpa [--results DIR] # weights, test metrics, parity plot, registry
    python models/build.py accept gaunt-3bpa                  # NVE drift, relaxation (+ water: RDF, density)
    python models/build.py card gaunt-3bpa                    # models/NAME.md from the JSON files

Every step runs the ``gaunt-md`` command line, as a user would. ``models/_work/`` is not committed;
the weights (``NAME-VERSION.pt``), cards (``NAME.md``), parity plots and acceptance numbers
(``NAME.json``) are.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
WORK = HERE / "_work"
VERSION = "1.0"
CITATION = ("BOTNet datasets: I. Batatia, S. Batzner, D. P. Kovács et al., \"The Design Space of E(3)-Equivariant "
            "Atom-Centered Interatomic Potentials\", arXiv:2205.06643 (MIT licence)")
MODELS = {
    "gaunt-acac": dict(train="acac/train_300K.xyz", test="acac/test_MD_300K.xyz", e0s="acac/isolated_atoms.xyz", valid_fraction=0.1,
                       what="acetylacetone (C5H8O2) at 300 K; DFT UHF PBE+D3/def2-SVP (ORCA 5), xTB MD geometries",
                       citation=CITATION, licence="MIT"),
    "gaunt-ethanol": dict(train="ethanol/train.xyz", test="ethanol/test_MD.xyz", e0s="ethanol/isolated_atoms.xyz", valid_fraction=0.05,
                          what="ethanol from the revised MD17 (rMD17), DFT PBE/def2-SVP", citation=CITATION, licence="MIT"),
    "gaunt-3bpa": dict(train="3bpa/train_300K.xyz", test=None, e0s="3bpa/isolated_atoms.xyz", valid_fraction=0.1,
                       what="3-(benzyloxy)pyridin-2-amine (C12H12N2O, 27 atoms) at 300 K, DFT ωB97X/6-31G(d)",
                       citation=CITATION, licence="MIT"),
    "gaunt-water": dict(train="water/train.xyz", test="water/test.xyz", e0s="average", valid_fraction=0.1, dtype="float32", batch_size=2,
                        what="liquid water, 64 H2O in a periodic 12.44 Å box, frames from ab initio MD (DeePMD-kit example data)",
                        citation="DeePMD-kit example data (examples/water/data): L. Zhang et al., Comput. Phys. Commun. 228, 178 (2018)",
                        licence="LGPL-3.0 (training data)"),
}


def gaunt_md(*args, threads: int | None = None) -> None:
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    cmd = [sys.executable, "-m", "gaunt_md.cli", *map(str, args)]
    print("$ gaunt-md " + " ".join(map(str, args)), flush=True)
    subprocess.run(cmd, check=True, env=env)


def fit(name: str, minutes: float, threads: int | None) -> None:
    m = MODELS[name]
    e0s = m["e0s"] if m["e0s"] == "average" else DATA / m["e0s"]
    extra = [f"--{k.replace('_', '-')}={m[k]}" for k in ("dtype", "batch_size") if k in m]
    gaunt_md("fit", "--train", DATA / m["train"], "--valid-fraction", m["valid_fraction"], "--e0s", e0s, "--output", WORK / name,
             "--max-minutes", minutes, "--epochs", 100000, *extra, "--force", threads=threads)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package(name: str, results: Path) -> None:
    """Copy the fitted model, evaluate it on its test file (or validation split) and register it."""
    import yaml

    m = MODELS[name]
    weights = HERE / f"{name}-{VERSION}.pt"
    shutil.copyfile(results / "model.pt", weights)
    config = yaml.safe_load((results / "config.yaml").read_text())
    log = list(csv.DictReader((results / "log.csv").open()))
    if m["test"]:
        test_file, test_label = DATA / m["test"], m["test"]
    else:  # the held-out validation frames, rebuilt exactly as gaunt-md fit split them
        from ase.io import read, write

        frames = read(DATA / m["train"], ":")
        order = np.random.default_rng(config["seed"]).permutation(len(frames))
        n_valid = max(1, int(round(config["valid_fraction"] * len(frames))))
        test_file = WORK / f"{name}_validation.xyz"
        write(test_file, [frames[i] for i in order[:n_valid]])
        test_label = f"{m['train']} (validation split: {n_valid} frames held out of training)"
    gaunt_md("eval", weights, test_file, "--json", WORK / f"{name}_test.json", "--plot", HERE / f"{name}_parity.png", "--force")
    metrics = next(iter(json.loads((WORK / f"{name}_test.json").read_text()).values()))["all"]
    info = {
        "name": name, "version": VERSION, "test_file": test_label, "test_metrics": metrics,
        "training": {"file": m["train"], "epochs": len(log), "minutes": sum(float(r["seconds"]) for r in log) / 60,
                     "hardware": "2 shared CPU cores (no GPU)", "config": config},
    }
    path = HERE / f"{name}.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**old, **info}, indent=2))
    _register(name, weights, config, metrics, test_label, m)


def _register(name: str, weights: Path, config: dict, metrics: dict, test_label: str, m: dict) -> None:
    from ase.data import chemical_symbols

    from gaunt_md import GauntForceField

    model = GauntForceField.load(weights)
    registry_file = HERE / "registry.json"
    registry = json.loads(registry_file.read_text())
    entry = {
        "name": name, "version": VERSION, "file": weights.name, "size": weights.stat().st_size, "sha256": _sha256(weights), "url": None,
        "elements": [chemical_symbols[z] for z in model.config.elements], "r_max": model.config.r_max,
        "metrics": {"test_file": test_label, "energy_rmse_meV_per_atom": round(metrics["energy_rmse"], 3),
                    "forces_rmse_meV_per_A": round(metrics["forces_rmse"], 2), "forces_mae_meV_per_A": round(metrics["forces_mae"], 2)},
        "licence": m["licence"], "description": m["what"],
    }
    registry["models"] = [e for e in registry["models"] if (e["name"], e["version"]) != (name, VERSION)] + [entry]
    registry["models"].sort(key=lambda e: (e["name"], e["version"]))
    registry_file.write_text(json.dumps(registry, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["fit", "package", "accept", "card"])
    parser.add_argument("name", choices=MODELS)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--results", type=Path, help="a gaunt-md fit results folder (default models/_work/NAME)")
    args = parser.parse_args()
    if args.step == "fit":
        fit(args.name, args.minutes, args.threads)
    elif args.step == "package":
        package(args.name, args.results or WORK / args.name)


if __name__ == "__main__":
    main()
