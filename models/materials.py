"""Acceptance runs of a crystal model (``python models/build.py accept gaunt-mlearn-Si``), each writing
``models/_work/NAME_accept/PART.json`` for its card:

- ``lattice``: the DFT ground-state crystal of the training data relaxed with its cell
  (``gaunt-md relax --cell --symmetry``): the model's lattice constant;
- ``elastic``: C11, C12, C44 (GPa) three ways: DFT and the model on the same clamped-ion strained
  frames of the training data, by the same fit (``elastic.py``); and the model's own, from finite
  strains of its relaxed cell (matscipy's ``fit_elastic_constants``, up to ±1.25%), clamped-ion and with
  the atoms relaxed (C44 relaxed differs from clamped in diamond Si/Ge);
- ``npt``: 2 ps of NPT at 300 K and 0 GPa (MTK, anisotropic cell) of the relaxed crystal: the mean lattice
  constant over the second ps and its drift.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from acceptance import md_log
from catalogue import DATA, HERE, MODELS, WORK, gaunt_md, weights_of
from elastic import conventional_cells, cubic_constants, ground_and_strained

NPT_STEPS, NPT_TIMESTEP_FS = 2000, 1.0


def elastic_frames(name: str) -> tuple:
    """The ground-state crystal and its strained copies in the model's training file."""
    from ase.io import read

    frames = [a for a in read(DATA / MODELS[name]["train"], ":") if a.info.get("config_type") == "Elastic"]
    return ground_and_strained(frames)


def lattice_constant(atoms) -> float:
    """Conventional cubic lattice constant (Å) of a cubic supercell."""
    return float((atoms.get_volume() / conventional_cells(atoms)) ** (1 / 3))


def accept_crystal(name: str, part: str) -> dict:
    """Run one acceptance ``part`` (lattice, elastic, npt) of a crystal model; returns its numbers."""
    from ase.io import read, write

    folder = WORK / f"{name}_accept"
    folder.mkdir(parents=True, exist_ok=True)
    weights = weights_of(name)
    ground, strained = elastic_frames(name)
    relaxed = folder / "lattice_final.extxyz"
    if part == "lattice":
        write(folder / "ground.xyz", ground)
        gaunt_md("relax", folder / "ground.xyz", "--model", weights, "--cell", "--symmetry", "--fmax", 1e-4,
                 "--steps", 500, "--optimizer", "BFGS", "--dtype", "float64", "--output", folder / "lattice", "--force")  # fmt: skip
        dft = cubic_constants(ground, strained, *_labels([ground, *strained]))
        result = {
            "model_a": lattice_constant(read(relaxed)),
            "dft_a": dft["a"],
            "dft_a_ground_cell": dft["a_ground_cell"],
        }
    elif part == "elastic":
        result = _elastic(weights, ground, strained, read(relaxed))
    elif part == "npt":
        result = _npt(weights, read(relaxed), folder)
    else:
        raise SystemExit(f"unknown acceptance part {part!r} of a crystal model")
    (folder / f"{part}.json").write_text(json.dumps(result, indent=2))
    return result


def _labels(frames: list) -> tuple[np.ndarray, np.ndarray]:
    """Energies (eV) and Voigt stresses (eV/Å^3) of labelled frames or of frames with a calculator."""
    return np.array([a.get_potential_energy() for a in frames]), np.array([a.get_stress() for a in frames])


def _elastic(weights: Path, ground, strained: list, relaxed) -> dict:
    from ase.optimize import FIRE
    from ase.units import GPa
    from matscipy.elasticity import fit_elastic_constants

    from gaunt_md import GauntCalculator

    calc = GauntCalculator(str(weights), dtype="float64")
    frames = [ground, *strained]
    dft = cubic_constants(ground, strained, *_labels(frames))
    copies = [a.copy() for a in frames]
    for a in copies:
        a.calc = calc
    model = cubic_constants(ground, strained, *_labels(copies))
    relaxed.calc = calc
    own = {}
    for label, optimizer in (("clamped", None), ("relaxed", FIRE)):
        c, _ = fit_elastic_constants(relaxed, symmetry="cubic", N_steps=5, delta=0.005, optimizer=optimizer,
                                     fmax=1e-4, verbose=False)  # fmt: skip
        own[label] = {"C11": c[0, 0] / GPa, "C12": c[0, 1] / GPa, "C44": c[3, 3] / GPa}
    keys = ("C11", "C12", "C44", "C11_from_energies", "C44_from_energies", "sigma0_from_energies")
    return {
        "units": "GPa",
        "dft_frames": {k: float(dft[k]) for k in keys},
        "model_on_dft_frames": {k: float(model[k]) for k in keys},
        "model_own_cell": own,
        "frames": len(frames),
    }


def _npt(weights: Path, relaxed, folder: Path) -> dict:
    from ase.io import read, write

    start = relaxed.repeat((2, 2, 2)) if len(relaxed) < 32 else relaxed
    write(folder / "npt_start.xyz", start)
    gaunt_md("md", folder / "npt_start.xyz", "--model", weights, "--ensemble", "npt", "--barostat", "anisotropic",
             "--temperature", 300, "--pressure", 0.0, "--timestep", NPT_TIMESTEP_FS, "--steps", NPT_STEPS,
             "--dtype", "float32", "--tdamp", 100, "--pdamp", 1000, "--log-every", 10, "--traj-every", 50,
             "--output", folder / "npt", "--force")  # fmt: skip
    log = md_log(folder / "npt.csv")
    a = (log["volume_A3"] / conventional_cells(start)) ** (1 / 3)
    t = log["time_ps"]
    half = t >= t[-1] / 2
    frames = read(folder / "npt.extxyz", ":")
    return {
        "atoms": len(start),
        "steps": int(log["step"][-1]),
        "timestep_fs": NPT_TIMESTEP_FS,
        "a_start": float(a[0]),
        "a_mean_second_half": float(a[half].mean()),
        "a_std_second_half": float(a[half].std()),
        "a_drift_per_ps_second_half": float(np.polyfit(t[half], a[half], 1)[0]),
        "mean_temperature_K_second_half": float(log["temperature_K"][half].mean()),
        "angles_max_deviation_deg": float(max(np.abs(f.cell.cellpar()[3:] - 90).max() for f in frames)),
    }


def card_lines(acc: dict) -> list[str]:
    """The acceptance section of a crystal model's card from its lattice, elastic and npt parts."""
    lines = ["## Acceptance runs (crystal)", ""]
    if "lattice" in acc:
        lat = acc["lattice"]
        error = 100 * (lat["model_a"] / lat["dft_a"] - 1)
        lines.append(
            f"- Lattice constant (`gaunt-md relax --cell --symmetry` of the DFT ground-state crystal, fmax 1e-4 eV/Å): "
            f"{lat['model_a']:.4f} Å; DFT {lat['dft_a']:.4f} Å ({error:+.2f}%). The DFT value is the ground-state cell of "
            f"the training data ({lat['dft_a_ground_cell']:.4f} Å) corrected by the isotropic strain that removes its "
            "residual stress, that stress taken from the energies of the strained frames (not the stress labels)."
        )
    if "elastic" in acc:
        el = acc["elastic"]
        dft, on, own = el["dft_frames"], el["model_on_dft_frames"], el["model_own_cell"]
        lines += [
            f"- Elastic constants (GPa) from the {el['frames']} Elastic frames of the training data (the ground state and its clamped-ion strains; DFT and the "
            "model by the same stress-strain fit, strains up to 5%), and from strains up to ±1.25% (5 steps of 0.5%) of the model's own relaxed cell "
            "(matscipy `fit_elastic_constants`, atoms clamped and relaxed):",
            "",
            "| | C11 | C12 | C44 | C44 from energies |",
            "|---|---|---|---|---|",
            f"| DFT, training frames | {dft['C11']:.1f} | {dft['C12']:.1f} | {dft['C44']:.1f} | {dft['C44_from_energies']:.1f} |",
            f"| model, same frames | {on['C11']:.1f} | {on['C12']:.1f} | {on['C44']:.1f} | {on['C44_from_energies']:.1f} |",
            f"| model, own cell, clamped | {own['clamped']['C11']:.1f} | {own['clamped']['C12']:.1f} | "
            f"{own['clamped']['C44']:.1f} | |",
            f"| model, own cell, relaxed ions | {own['relaxed']['C11']:.1f} | {own['relaxed']['C12']:.1f} | "
            f"{own['relaxed']['C44']:.1f} | |",
            "",
        ]
    if "npt" in acc:
        npt = acc["npt"]
        lines.append(
            f"- NPT (MTK, anisotropic cell) at 300 K and 0 GPa, {npt['atoms']} atoms, {npt['steps']} steps of "
            f"{npt['timestep_fs']} fs: lattice constant {npt['a_start']:.4f} Å at the start, "
            f"{npt['a_mean_second_half']:.4f} ± {npt['a_std_second_half']:.4f} Å over the second half, drift "
            f"{npt['a_drift_per_ps_second_half']:+.4f} Å/ps; cell angles within {npt['angles_max_deviation_deg']:.2f}° of 90°."
        )
    return lines + [""]


NOTES = HERE / "materials_notes.md"  # the prose above the table in docs/accuracy.md, edited by hand


def docs_table() -> list[str]:
    """The mlearn models beside GAP and MTP, with their lattice and elastic acceptance, for docs/accuracy.md."""
    rows = [
        *NOTES.read_text().rstrip().splitlines(),
        "",
        "| element | version | E MAE (meV/atom) | F MAE (eV/Å) | S MAE (GPa) | GAP E / F | MTP E / F | epochs "
        "| a (Å), model / DFT | C11, C12, C44 (GPa), model on the DFT frames / DFT |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in MODELS.items():
        path = HERE / f"{name}.json"
        if not m.get("crystal") or not path.is_file():
            continue
        info = json.loads(path.read_text())
        t, acc, pub = info["test_metrics"], info.get("acceptance", {}), m["published_mae"]
        lat, el = acc.get("lattice"), acc.get("elastic")
        a = f"{lat['model_a']:.3f} / {lat['dft_a']:.3f}" if lat else "-"
        c = "-"
        if el:
            on, dft = el["model_on_dft_frames"], el["dft_frames"]
            c = ", ".join(f"{on[k]:.0f}" for k in ("C11", "C12", "C44")) + " / "
            c += ", ".join(f"{dft[k]:.0f}" for k in ("C11", "C12", "C44"))
        rows.append(
            f"| {name.split('-')[-1]} | {info['version']} | {t['energy_mae']:.2f} | {t['forces_mae'] / 1e3:.3f} | {t.get('stress_mae', float('nan')):.3f} "
            f"| {pub['GAP'][0]:.2f} / {pub['GAP'][1]:.2f} | {pub['MTP'][0]:.2f} / {pub['MTP'][1]:.2f} "
            f"| {info['training']['epochs']} | {a} | {c} |"
        )
    return rows
