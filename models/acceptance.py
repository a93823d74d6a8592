"""Acceptance runs of a shipped model (``python models/build.py accept NAME``): NVE drift, relaxation
of a rattled frame, and for water NVT (O-O RDF) and NPT (density); ``cards.py`` collects the numbers."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from catalogue import DATA, HERE, MODELS, WORK, gaunt_md, weights_of


def md_log(path: Path) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(path.open()))
    return {k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in rows[0]}


STEPS = {"nve": 2000, "nvt": 4000, "npt": 2000}  # of 0.5 fs
MD_FLAGS = {  # gaunt-md md settings of each MD part, besides --model, --timestep 0.5, --steps and --output
    "nve": dict(ensemble="nve", temperature=300, dtype="float64", log_every=10, traj_every=200),
    "nvt": dict(ensemble="nvt", temperature=300, dtype="float32", friction=0.01, log_every=20, traj_every=40),
    "npt": dict(
        ensemble="npt",
        temperature=300,
        pressure=1e-4,
        dtype="float32",
        tdamp=50,
        pdamp=500,
        log_every=20,
        traj_every=100,
    ),
}


def accept(name: str, parts: list[str]) -> None:
    """Acceptance runs, each writing ``models/_work/NAME_accept/PART.json`` (``card`` collects them):
    ``nve`` (1 ps, 0.5 fs, float64: drift), ``relax`` (a rattled frame), and for water ``nvt`` (2 ps at
    300 K: O-O radial distribution function) and ``npt`` (300 K, 1 bar: density); for a crystal model
    (``crystal`` in its catalogue entry) the parts of ``materials.py``."""
    from ase.io import read, write

    m = MODELS[name]
    if m.get("crystal"):
        from materials import accept_crystal

        for part in parts or ["lattice", "elastic", "npt"]:
            print(json.dumps({part: accept_crystal(name, part)}, indent=2))
        return
    folder = WORK / f"{name}_accept"
    folder.mkdir(parents=True, exist_ok=True)
    weights = weights_of(name)
    source = DATA / (m["test"] or m["train"])
    start = folder / "start.xyz"
    write(start, read(source, 0))
    water = name == "gaunt-water"
    for part in parts or (["nve", "relax", "nvt", "npt"] if water else ["nve", "relax"]):
        if part in MD_FLAGS:
            flags = [f"--{k.replace('_', '-')}={v}" for k, v in MD_FLAGS[part].items()]
            gaunt_md("md", start, "--model", weights, "--timestep", 0.5, "--steps", STEPS[part], *flags,
                     "--output", folder / part, "--force")  # fmt: skip
            result = summarise(name, part)
        elif part == "relax":
            rattled = read(source, 1)
            rattled.rattle(0.05, seed=0)
            write(folder / "rattled.xyz", rattled)
            fmax = 0.05 if water else 0.01
            cmd = ["relax", folder / "rattled.xyz", "--model", weights, "--fmax", fmax, "--steps", 2000,
                   "--optimizer", "FIRE" if water else "BFGS", "--output", folder / part, "--force"]  # fmt: skip
            proc = subprocess.run(
                [sys.executable, "-m", "gaunt_md.cli", *map(str, cmd)], capture_output=True, text=True
            )
            summary = [
                l for l in proc.stdout.splitlines() if not l.startswith(("BFGS", "FIRE", "  ", "relaxing", "wrote"))
            ]
            result = {"fmax_eV_per_A": fmax, "exit_code": proc.returncode, "summary": summary}
            (folder / "relax.json").write_text(json.dumps(result, indent=2))
        else:
            raise SystemExit(f"unknown acceptance part {part!r}")
        print(json.dumps({part: result}, indent=2))


def summarise(name: str, part: str) -> dict:
    """The numbers of an MD acceptance run from its CSV log and trajectory, also for a run stopped
    early (``steps`` is what was done, out of ``steps_planned``). Writes PART.json."""
    from ase.io import read

    folder = WORK / f"{name}_accept"
    log = md_log(folder / f"{part}.csv")
    start = read(folder / "start.xyz")
    steps = int(log["step"][-1])
    result = {"steps": steps, "steps_planned": STEPS[part], "timestep_fs": 0.5}
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
