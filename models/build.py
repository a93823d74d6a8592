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
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
WORK = HERE / "_work"
VERSION = "1.0"  # of a model whose entry below names none
CITATION = (
    'BOTNet datasets: I. Batatia, S. Batzner, D. P. Kovács et al., "The Design Space of E(3)-Equivariant '
    'Atom-Centered Interatomic Potentials", arXiv:2205.06643 (MIT licence)'
)
ONE_THREAD = "1 thread of 2 shared CPU cores (no GPU)"
PAIR_RUN = (
    "Fitted with `--threads 1 --minutes 90` and the defaults of gaunt-md 0.2.0 (normalised initialisation, channel-wise "
    "many-body product, batch size 2, ZBL pair prior), side by side with the other molecule's fit (gaunt-acac and "
    "gaunt-ethanol 2.0, one thread each on the 2 cores, 2026-12-03); at the end `gaunt-md fit` refitted the per-atom "
    "energy shift on the training frames (below)."
)
SIDE_BY_SIDE = (
    "Fitted with `--threads 1`, side by side with {other} (one thread each on the 2 cores, 2026-12-02); at the end "
    "`gaunt-md fit` refitted the per-atom energy shift on the training frames (below)."
)
MODELS = {
    "gaunt-acac": dict(
        subject="acetylacetone",
        published=("rmse", 5.1),
        version="2.0",
        conditions="300 K gas-phase MD geometries",
        train="acac/train_300K.xyz",
        test="acac/test_MD_300K.xyz",
        e0s="acac/isolated_atoms.xyz",
        valid_fraction=0.1,
        hardware=ONE_THREAD,
        notes=PAIR_RUN,
        what="acetylacetone (C5H8O2) at 300 K; DFT UHF PBE+D3/def2-SVP (ORCA 5), xTB MD geometries",
        citation=CITATION,
        licence="MIT",
    ),
    "gaunt-ethanol": dict(
        subject="ethanol",
        published=("mae", 2.1),
        version="2.0",
        conditions="the rMD17 500 K gas-phase MD geometries",
        train="ethanol/train.xyz",
        test="ethanol/test_MD.xyz",
        e0s="ethanol/isolated_atoms.xyz",
        valid_fraction=0.05,
        hardware=ONE_THREAD,
        notes=PAIR_RUN,
        what="ethanol from the revised MD17 (rMD17), DFT PBE/def2-SVP",
        citation=CITATION,
        licence="MIT",
    ),
    "gaunt-3bpa": dict(
        subject="3-(benzyloxy)pyridin-2-amine (3BPA)",
        version="1.1",
        conditions="300 K gas-phase MD geometries",
        train="3bpa/train_300K.xyz",
        test=None,
        e0s="3bpa/isolated_atoms.xyz",
        valid_fraction=0.1,
        hardware=ONE_THREAD,
        notes=SIDE_BY_SIDE.format(other="gaunt-water"),
        what="3-(benzyloxy)pyridin-2-amine (C12H12N2O, 27 atoms) at 300 K, DFT ωB97X/6-31G(d)",
        citation=CITATION,
        licence="MIT",
    ),
    "gaunt-water": dict(
        subject="liquid water",
        version="1.1",
        conditions="liquid at ambient temperature and density",
        train="water/train.xyz",
        test="water/test.xyz",
        e0s="average",
        valid_fraction=0.1,
        dtype="float32",
        batch_size=2,
        hardware=ONE_THREAD,
        notes=SIDE_BY_SIDE.format(other="gaunt-3bpa"),
        limits="Not for NPT: every training frame has the same 12.44 Å box and there are no virial labels, so nothing in "
        "the data constrains how the energy changes with volume (the pressure). At the training density the model's "
        "pressure is positive (NVT run above), and NPT expands the liquid (density above).",
        what="liquid water, 64 H2O in a periodic 12.44 Å box, frames from ab initio MD (DeePMD-kit example data)",
        citation="DeePMD-kit example data (examples/water/data): L. Zhang et al., Comput. Phys. Commun. 228, 178 (2018)",
        licence="LGPL-3.0 (training data)",
    ),
}


def _version(name: str) -> str:
    return MODELS[name].get("version", VERSION)


def _weights(name: str) -> Path:
    return HERE / f"{name}-{_version(name)}.pt"


def gaunt_md(*args) -> None:
    cmd = [sys.executable, "-m", "gaunt_md.cli", *map(str, args)]
    print("$ gaunt-md " + " ".join(map(str, args)), flush=True)
    subprocess.run(cmd, check=True)


def fit(name: str, minutes: float, threads: int | None) -> None:
    m = MODELS[name]
    e0s = m["e0s"] if m["e0s"] == "average" else DATA / m["e0s"]
    extra = [f"--{k.replace('_', '-')}={m[k]}" for k in ("dtype", "batch_size") if k in m]
    gaunt_md(
        "fit",
        "--train",
        DATA / m["train"],
        "--valid-fraction",
        m["valid_fraction"],
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


def package(name: str, results: Path) -> None:
    """Copy the fitted model, evaluate it on its test file (or validation split) and register it."""
    import yaml

    m = MODELS[name]
    weights = _weights(name)
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
    weights = _weights(name)
    if m["test"]:
        test_file, test_label = DATA / m["test"], m["test"]
    else:  # the held-out validation frames, rebuilt exactly as gaunt-md fit split them
        from ase.io import read, write

        from gaunt_md.data import validation_split

        frames = read(DATA / m["train"], ":")
        valid, _ = validation_split(len(frames), config["valid_fraction"], config["seed"])
        n_valid = len(valid)
        test_file = WORK / f"{name}_validation.xyz"
        write(test_file, [frames[i] for i in valid])
        test_label = f"{m['train']} (validation split: {n_valid} frames held out of training)"
    gaunt_md(
        "eval",
        weights,
        test_file,
        "--json",
        WORK / f"{name}_test.json",
        "--plot",
        HERE / f"{name}_parity.png",
        "--force",
    )
    metrics = next(iter(json.loads((WORK / f"{name}_test.json").read_text())["files"].values()))["all"]
    info = {
        "name": name,
        "version": _version(name),
        "test_file": test_label,
        "test_metrics": metrics,
        "training": training,
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
        "name": name,
        "version": _version(name),
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


def _md_log(path: Path) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(path.open()))
    return {k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in rows[0]}


def accept(name: str, parts: list[str]) -> None:
    """Acceptance runs, each writing ``models/_work/NAME_accept/PART.json`` (``card`` collects them):
    ``nve`` (1 ps, 0.5 fs, float64: drift), ``relax`` (a rattled frame), and for water ``nvt`` (2 ps at
    300 K: O-O radial distribution function) and ``npt`` (300 K, 1 bar: density)."""
    from ase.io import read, write

    m = MODELS[name]
    folder = WORK / f"{name}_accept"
    folder.mkdir(parents=True, exist_ok=True)
    weights = _weights(name)
    source = DATA / (m["test"] or m["train"])
    start = folder / "start.xyz"
    write(start, read(source, 0))
    water = name == "gaunt-water"
    for part in parts or (["nve", "relax", "nvt", "npt"] if water else ["nve", "relax"]):
        out = folder / part
        if part == "nve":
            gaunt_md(
                "md",
                start,
                "--model",
                weights,
                "--ensemble",
                "nve",
                "--temperature",
                300,
                "--timestep",
                0.5,
                "--steps",
                2000,
                "--dtype",
                "float64",
                "--log-every",
                10,
                "--traj-every",
                200,
                "--output",
                out,
                "--force",
            )
            result = _summarise(name, "nve")
        elif part == "relax":
            rattled = read(source, 1)
            rattled.rattle(0.05, seed=0)
            write(folder / "rattled.xyz", rattled)
            fmax = 0.05 if water else 0.01
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gaunt_md.cli",
                    "relax",
                    str(folder / "rattled.xyz"),
                    "--model",
                    str(weights),
                    "--fmax",
                    str(fmax),
                    "--steps",
                    "2000",
                    "--optimizer",
                    "FIRE" if water else "BFGS",
                    "--output",
                    str(out),
                    "--force",
                ],
                capture_output=True,
                text=True,
            )
            summary = [
                l for l in proc.stdout.splitlines() if not l.startswith(("BFGS", "FIRE", "  ", "relaxing", "wrote"))
            ]
            result = {"fmax_eV_per_A": fmax, "exit_code": proc.returncode, "summary": summary}
        elif part == "nvt":
            gaunt_md(
                "md",
                start,
                "--model",
                weights,
                "--ensemble",
                "nvt",
                "--temperature",
                300,
                "--timestep",
                0.5,
                "--steps",
                4000,
                "--dtype",
                "float32",
                "--friction",
                0.01,
                "--traj-every",
                40,
                "--log-every",
                20,
                "--output",
                out,
                "--force",
            )
            result = _summarise(name, "nvt")
        elif part == "npt":
            gaunt_md(
                "md",
                start,
                "--model",
                weights,
                "--ensemble",
                "npt",
                "--temperature",
                300,
                "--pressure",
                1e-4,
                "--timestep",
                0.5,
                "--steps",
                2000,
                "--dtype",
                "float32",
                "--tdamp",
                50,
                "--pdamp",
                500,
                "--traj-every",
                100,
                "--log-every",
                20,
                "--output",
                out,
                "--force",
            )
            result = _summarise(name, "npt")
        else:
            raise SystemExit(f"unknown acceptance part {part!r}")
        if part == "relax":
            (folder / "relax.json").write_text(json.dumps(result, indent=2))
        print(json.dumps({part: result}, indent=2))


def _summarise(name: str, part: str) -> dict:
    """The numbers of an MD acceptance run from its CSV log and trajectory, also for a run stopped
    early (``steps`` is what was done, out of ``steps_planned``). Writes PART.json."""
    from ase.io import read

    folder = WORK / f"{name}_accept"
    log = _md_log(folder / f"{part}.csv")
    start = read(folder / "start.xyz")
    steps = int(log["step"][-1])
    result = {"steps": steps, "steps_planned": {"nve": 2000, "nvt": 4000, "npt": 2000}[part], "timestep_fs": 0.5}
    if part == "nve":
        slope = np.polyfit(log["time_ps"], log["etot_eV"], 1)[0]
        result |= {
            "dtype": "float64",
            "drift_meV_per_atom_per_ps": 1e3 * slope / len(start),
            "etot_std_meV_per_atom": 1e3 * np.std(log["etot_eV"]) / len(start),
            "mean_temperature_K": float(np.mean(log["temperature_K"])),
        }
    elif part == "nvt":
        result |= _rdf(folder / "nvt.extxyz", HERE / f"{name}_rdf.png")
        half = len(log["step"]) // 2
        result["mean_temperature_K"] = float(np.mean(log["temperature_K"][half:]))
        result["mean_pressure_GPa"] = float(np.mean(log["pressure_GPa"][half:]))  # at the training density
    else:
        mass = sum(start.get_masses()) / 6.02214076e23  # g
        density = mass / (log["volume_A3"] * 1e-24)
        half = len(density) // 2
        result |= {
            "pressure_GPa": 1e-4,
            "temperature_K": 300,
            "density_g_cm3_second_half": float(density[half:].mean()),
            "density_start": float(density[0]),
            "density_end": float(density[-1]),
        }
    (folder / f"{part}.json").write_text(json.dumps(result, indent=2))
    return result


def _rdf(trajectory: Path, png: Path) -> dict:
    """O-O radial distribution function averaged over the second half of a trajectory."""
    from ase.geometry.rdf import get_rdf
    from ase.io import read

    from gaunt_md.plots import pyplot, save

    frames = read(trajectory, ":")
    frames = frames[len(frames) // 2 :]
    r_max, bins = 6.0, 120
    g = np.mean([get_rdf(f, r_max, bins, elements=(8, 8))[0] for f in frames], axis=0)
    r = get_rdf(frames[0], r_max, bins, elements=(8, 8))[1]
    peak = float(r[np.argmax(g)])
    fig, ax = pyplot().subplots(figsize=(5, 3.5))
    ax.plot(r, g)
    ax.axvline(2.8, color="grey", ls=":", label="2.8 Å")
    ax.set(xlabel="r (Å)", ylabel="g_OO(r)", title=f"gaunt-water, NVT 300 K: first peak at {peak:.2f} Å")
    ax.legend()
    save(fig, png)
    return {"frames": len(frames), "first_peak_A": peak, "first_peak_height": float(g.max()), "png": png.name}


def _planned(run: dict) -> str:
    planned = run.get("steps_planned", run["steps"])
    return "" if run["steps"] >= planned else f" (stopped at the session's end; {planned} planned)"


def card(name: str) -> None:
    """models/NAME.md from NAME.json (test metrics, training, acceptance) and the registry entry."""
    from gaunt_md import GauntForceField

    m, info = MODELS[name], json.loads((HERE / f"{name}.json").read_text())
    entry = next(
        e
        for e in json.loads((HERE / "registry.json").read_text())["models"]
        if (e["name"], e["version"]) == (name, _version(name))
    )
    model = GauntForceField.load(HERE / entry["file"])
    c, t, mt = model.config, info["training"], info["test_metrics"]
    n_params = sum(p.numel() for p in model.parameters())
    lines = [
        f"# {name} {_version(name)}",
        "",
        f"A Gaunt tensor product force field for {m['what']}.",
        "",
        "```python",
        "from gaunt_md import GauntCalculator",
        f'atoms.calc = GauntCalculator("{name}")',
        "```",
        "",
        "## Model",
        "",
        f"- `GauntForceField(elements={entry['elements']}, r_max={c.r_max}, channels={c.channels}, lmax={c.lmax}, "
        f"hidden_lmax={c.hidden_lmax}, correlation={c.correlation}, num_layers={c.num_layers})`, {n_params:,} parameters, "
        f"file {entry['file']} ({entry['size'] / 1e6:.1f} MB, sha256 `{entry['sha256'][:16]}…`).",
        f"- Elements {', '.join(entry['elements'])}; cutoff {c.r_max} Å; E0s (eV): "
        + ", ".join(f"{z}: {e:.4f}" for z, e in sorted(c.e0s.items()))
        + f"; average neighbours {c.avg_num_neighbors:.1f}.",
        "- Pair prior: "
        + (
            "ZBL screened nuclear repulsion below 0.5-0.75 covalent-radius sums (`pair_repulsion='zbl'`)."
            if getattr(c, "pair_repulsion", None) == "zbl"
            else "none (fitted before gaunt-md had one; `gaunt-md fit` now adds a ZBL prior by default)."
        ),
        "- Units: energies eV, forces eV/Å, stress eV/Å^3 (ASE's).",
        "",
        "## Training",
        "",
        f"- Data: `../shared/data/{m['train']}` ({m['what']}); {t['config']['valid_fraction']:.0%} held out for validation "
        f"(seed {t['config']['seed']}). Cite: {m['citation']}. Data licence: {m['licence']}.",
        f"- `gaunt-md fit` defaults (batch {t['config']['batch_size']}, lr {t['config']['lr']}, AMSGrad, EMA {t['config']['ema_decay']}, "
        f"energy/force weights {t['config']['energy_weight']}/{t['config']['forces_weight']}, stage two energy weight "
        f"{t['config']['stage_two_energy_weight']}), {t['config']['dtype']}, time budget {t['config']['max_minutes']} min: "
        f"{t['epochs']} epochs in {t['minutes']:.0f} min on {t['hardware']}, shared with other training runs.",
        *([f"- {m['notes']}"] if "notes" in m else []),
        *(
            [
                f"- Energy shift refitted on the training frames (validation split excluded): {t['shift_refit_meV_per_atom']:+.2f} meV/atom."
            ]
            if "shift_refit_meV_per_atom" in t
            else []
        ),
        f"- Reproduce: `python models/build.py fit {name} --minutes {t['config']['max_minutes']:g}` then `package`, `accept`, `card` "
        "(the run's full settings are `training.config` in "
        + f"`models/{name}.json`; "
        + (
            ""
            if "stage_two_lr" in t["config"]
            else "this model predates the `stage_two_lr` setting, so its stage two kept the plateau-scheduled learning rate; "
        )
        + "a time budget makes the epoch count depend on the machine's load).",
        "",
        (
            f"## Test errors (`gaunt-md eval models/{entry['file']} ../shared/data/{m['test']}`)"
            if m["test"]
            else f"## Validation errors (`package` writes the held-out frames to `models/_work/{name}_validation.xyz` and runs `gaunt-md eval` on them)"
        ),
        "",
        f"Test data: {info['test_file']}.",
        "",
        "| frames | E RMSE (meV/atom) | E MAE (meV/atom) | E RMSE (meV/structure) | F RMSE (meV/Å) | F MAE (meV/Å) |",
        "|---|---|---|---|---|---|",
        f"| {mt['frames']} | {mt['energy_rmse']:.3f} | {mt['energy_mae']:.3f} | {mt['energy_total_rmse']:.2f} | {mt['forces_rmse']:.2f} | "
        f"{mt['forces_mae']:.2f} |",
        "",
        f"![parity plot]({name}_parity.png)",
        "",
    ]
    parts = {p.stem: json.loads(p.read_text()) for p in sorted((WORK / f"{name}_accept").glob("*.json"))}
    if parts:
        info["acceptance"] = parts
        (HERE / f"{name}.json").write_text(json.dumps(info, indent=2))
    acc = info.get("acceptance")
    if acc:
        nve = acc["nve"]
        lines += [
            "## Acceptance runs",
            "",
            f"- NVE, {nve['steps']} steps of {nve['timestep_fs']} fs{_planned(nve)} in {nve['dtype']} from 300 K velocities: total-energy drift "
            f"{nve['drift_meV_per_atom_per_ps']:+.4f} meV/atom/ps, fluctuation (std) {nve['etot_std_meV_per_atom']:.4f} meV/atom, "
            f"mean T {nve['mean_temperature_K']:.0f} K.",
            f"- Relaxation of a rattled frame (0.05 Å) to fmax {acc['relax']['fmax_eV_per_A']} eV/Å: exit code "
            f"{acc['relax']['exit_code']}: " + "; ".join(acc["relax"]["summary"]) + ".",
        ]
        if "nvt" in acc:
            rdf = acc["nvt"]
            lines += [
                f"- NVT at 300 K (Langevin), {rdf['steps']} steps of 0.5 fs{_planned(rdf)}: O-O radial distribution function over the last {rdf['frames']} frames, first "
                f"peak at {rdf['first_peak_A']:.2f} Å (height {rdf['first_peak_height']:.2f}); mean T {rdf['mean_temperature_K']:.0f} K"
                + (
                    f"; mean pressure {rdf['mean_pressure_GPa']:+.2f} GPa at the training density"
                    if "mean_pressure_GPa" in rdf
                    else ""
                )
                + ".",
                "",
                f"![O-O RDF]({rdf['png']})",
                "",
            ]
        if "npt" in acc:
            npt = acc["npt"]
            lines += [
                f"- NPT (MTK, isotropic) at 300 K and 1 bar, {npt['steps']} steps of {npt['timestep_fs']} fs{_planned(npt)}: density "
                f"{npt['density_start']:.3f} → {npt['density_end']:.3f} g/cm^3, mean over the second half "
                f"{npt['density_g_cm3_second_half']:.3f} g/cm^3."
            ]
        lines.append("")
    lines += [
        "## Intended use and limits",
        "",
        f"- Made for {m['subject']} near the training conditions ({m['conditions']}). It knows only the elements above and only the configurations its data sample: no bond breaking, no other "
        "molecules, no other phases, no long-range electrostatics beyond the cutoff.",
        "- Trained in one session on 2 CPU cores, far shorter than published MACE fits"
        + (
            f", and less accurate: published MACE reaches a force {m['published'][0].upper()} of {m['published'][1]} meV/Å on this "
            f"test file, this model {mt['forces_' + m['published'][0]]:.2f} meV/Å"
            if "published" in m
            else ""
        )
        + ". Check its errors above, energy conservation and structure for your own use.",
        *([f"- {m['limits']}"] if "limits" in m else []),
    ]
    (HERE / f"{name}.md").write_text("\n".join(lines) + "\n")
    print((HERE / f"{name}.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["fit", "package", "rescore", "accept", "summarise", "card"])
    parser.add_argument("name", choices=MODELS)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--results", type=Path, help="a gaunt-md fit results folder (default models/_work/NAME)")
    parser.add_argument(
        "--part", action="append", default=[], help="accept: nve, relax, nvt, npt (default: all that apply)"
    )
    args = parser.parse_args()
    if args.step == "fit":
        fit(args.name, args.minutes, args.threads)
    elif args.step == "package":
        package(args.name, args.results or WORK / args.name)
    elif args.step == "rescore":
        rescore(args.name)
    elif args.step == "accept":
        accept(args.name, args.part)
    elif args.step == "summarise":  # the numbers of MD runs so far, e.g. of a run stopped early
        for part in args.part:
            print(json.dumps(_summarise(args.name, part), indent=2))
    else:
        card(args.name)


if __name__ == "__main__":
    main()
