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


PROSE = """Generated by `python models/build.py materials-docs` from `models/gaunt-mlearn-*.json`. Each model:
`python models/build.py fit gaunt-mlearn-EL --minutes 15 --threads 1`, then `package`, `accept`, `card` (its card,
`models/gaunt-mlearn-EL.md`, has the errors per config_type and the acceptance runs). Version 1.0: the six fits ran one
after another on one core while `gaunt-nbmotaw` trained on the other. Version 1.1 (energy weight 100, below): the six
refits ran three after another on each core; a refit is shipped only where its validation errors beat 1.0's (the
version column), 2026-12-03.

How the settings were chosen, on the validation split of mlearn Si (21 of 214 frames; `benchmarks/ablation.py
--systems mlearn-Si --minutes 12`, two variants side by side, table in the ablation section above): in 12 minutes the
default model (128 channels, float64) runs 15 epochs, 64 channels 25 and 64 channels in float32 50. At 64 channels
(float64) the validation errors were E MAE 3.7 meV/atom and F MAE 56.8 meV/Å against the default's 7.2 and 67.6;
in float32 the log shows E MAE 2.4 and F MAE 50.9 at its last epoch (its final model in that table was picked by the
old validation criterion, which weighed energies by 1 and so took a stage-one epoch with 28 meV/atom energies; the
criterion now weighs energies as stage two does, `gaunt_md.train.metrics.selection_loss`). The crystal models therefore
train with 64 channels in float32. Stress weight: 1 GPa^-2 kept energies and forces better than 10 (valid E MAE 7.2
vs 10.6 meV/atom, F MAE 67.6 vs 96.0 meV/Å) for a slightly larger stress error (0.213 vs 0.186 GPa); Li, Cu and Ni
train with 0.1, as the data README advises for their unreliable stress labels (Li shear stresses; the Cu/Ni Pulay
offset).

Energy weight (version 1.1): the 1.0 models had their largest energy errors on the few surface slabs (9 of 194 Mo
training frames; Mo 1.0 missed the surface energies by 170 meV/atom even on its training slabs), where a per-atom
energy error weighs little against the force term at energy weight 1. On the validation split of mlearn Mo (19
frames; `benchmarks/ablation.py --systems mlearn-Mo --variants crystal crystal-energy-100 crystal-energy-1000
--minutes 12 --parallel 1`, table in the ablation section above) energy weight 100 gave E MAE 2.98 meV/atom against
4.34 at 1 and 3.47 at 1000, with the same force MAE (135.7 against 136.6 and 140.8 meV/Å): the 1.1 models train with
energy weight 100. The weight-1 run there, which repeats Mo 1.0's settings with gaunt-md 0.3.1, already had 4.84
meV/atom on the test file against 1.0's 17.37 (not isolated: gaunt-md changed between the two, and one seed each).
Validation E / F MAE (meV/atom, meV/Å) of 1.0 and of the 1.1 refit, each on its element's validation split: Si 2.32 /
52.0 and 3.85 / 51.4 (1.0 kept), Ge 2.11 / 42.6 and 1.98 / 42.2, Mo 3.92 / 137.5 and 3.13 / 134.8, Ni 4.12 / 25.0
and 2.43 / 23.5, Li 0.40 / 8.1 and 0.41 / 8.0 (1.0 kept), Cu 4.32 / 13.0 and 2.57 / 11.7 (Cu's first refit, 3.02 /
11.8, had its weights overwritten before packaging; the shipped 1.1 is a repeat beside the gaunt-water fit). The
refits' logs: `benchmarks/results/fit_logs/gaunt-mlearn-EL-1.1_log.csv`.
Refits without stress (weight 0, the offset stresses left out) fit energies better: Cu validation 1.28 / 9.9 (test
3.33 / 11.8, lattice constant +0.21% from DFT), Ni 1.59 / 23.6 (a repeat: 1.68 / 23.3). But they soften the crystal: Cu's C11 and C12 on the
DFT frames came to 143 and 82 GPa against DFT's 189 and 131, so neither ships. Removing the labels' constant offset
instead (`gaunt-md fit --stress-offset`, gaunt-md 0.3.2): the weight-0 models' stress bias on their training frames
(`gaunt-md eval MODEL mlearn/EL/train.xyz --stress-key stress`, prediction minus label) is -2.34 GPa for Cu and
-2.82 GPa for Ni (the data README: about 2.6 and 3.0). A Cu refit with stress weight 1 on the labels less 2.3 GPa
(`gaunt-md fit ... --stress-offset 2.3`, otherwise the 1.1 settings, 15 min) reached validation E MAE 2.04 meV/atom,
F MAE 14.6 meV/Å and stress MAE 0.060 GPa against the shifted labels (the weight-0.1 refit: 2.57 / 11.7 / 0.142
against the raw labels): better energies and stresses, worse forces, so it did not ship. Ni the same way
(`--stress-offset 2.8`, 14 min, 18 epochs): E MAE 1.76, F MAE 27.1, stress MAE 0.099 GPa against Ni 1.1's 2.43 /
23.5: the same trade, not shipped (logs: `benchmarks/results/fit_logs/mlearn-*-stress-*_log.csv`).

Cutoff (version 1.2, Cu and Ni, 2026-12-04): an fcc crystal's second neighbour shell lies at a (3.6 Å for Cu), so
r_max 4.0 Å keeps two shells and cuts the average neighbour count from 44 to 18. On the validation split of mlearn Cu
(`benchmarks/ablation.py --systems mlearn-Cu --variants mlearn-low-stress mlearn-low-stress-rmax-4 --minutes 15`,
table in the ablation section above) the 15-minute fit at 4.0 ran 37 epochs against 24 at 5.0 and ended lower (E RMSE
3.52 against 4.14 meV/atom, F RMSE 19.8 against 20.0 meV/Å). The Cu and Ni refits at r_max 4.0 (otherwise the 1.1
settings, side by side, 35 and 34 epochs against 1.1's 23 and 19) reached validation E / F MAE Cu 2.58 / 10.8 (F RMSE
20.2 against 21.0) and Ni 2.07 / 20.2 (F RMSE 36.0 against 40.5), so both ship as 1.2 (logs:
`benchmarks/results/fit_logs/gaunt-mlearn-EL-1.2_log.csv`). Si, Ge, Li and Mo were not refitted at a shorter cutoff.

Offset-corrected stress labels at the low weight (version 1.3, Cu and Ni, 2026-12-04): the 1.2 settings with the stress
labels less their offset (`--stress-offset 2.3` for Cu, `2.8` for Ni, stress weight 0.1; `python models/build.py fit
gaunt-mlearn-EL --minutes 15 --threads 1`, the two side by side). With the labels and the energies agreeing on the
equilibrium volume, the energies fit as without stress and the forces as before: validation E MAE / F RMSE / F MAE Cu
1.28 / 20.2 / 10.9 against 1.2's 2.58 / 20.2 / 10.8 (33 epochs against 35), Ni 0.87 / 36.8 / 20.7 against 2.07 / 36.0
/ 20.2 (33 against 34). Test E MAE Cu 1.62 meV/atom (1.2: 3.72), Ni 1.42 (4.30); the lattice constants moved from
-0.53% to -0.04% (Cu) and -0.10% (Ni) of DFT, and C11 / C12 / C44 on the DFT frames are Cu 182 / 116 / 85 GPa (1.2:
179 / 125 / 80; DFT 189 / 131 / 85) and Ni 279 / 162 / 136 (1.2: 284 / 164 / 135; DFT 291 / 169 / 139). The test stress
MAE of these two is against the test labels less the same offset (logs: `benchmarks/results/fit_logs/gaunt-mlearn-EL-1.3_log.csv`).

The shorter cutoff does not pay outside fcc (validation splits, 15 minutes, one variant per element beside another
element's, `python benchmarks/ablation.py --systems mlearn-EL --variants VARIANT --minutes 15 --parallel 1`,
2026-12-04, tables in the ablation section above; validation E MAE / F MAE against the shipped model's): r_max 4.0 on
Si (diamond: the third shell at 4.5 Å is cut) 2.73 / 53.4 against 2.32 / 52.0, on Li (bcc: 14 of 26 neighbours kept)
1.37 / 16.6 against 0.40 / 8.1, on Mo (bcc) 4.01 / 147.9 against 3.13 / 134.8 although it ran 89 epochs against 64;
batch size 1 on Mo 3.38 / 137.0 (63 epochs). None of them ships.

Learning-rate schedule (2026-12-04): the plateau default never lowered the learning rate of these 15-minute fits
before stage two (the logs stay at 0.01 until 80%), so the fits were repeated with `--lr-schedule cosine` (0.01 to
0.0001 along a cosine over the 15 minutes, capped at stage two's 0.001 from 80%), everything else as shipped: Mo and
Ge side by side (`python benchmarks/ablation.py --systems mlearn-Mo --variants crystal-energy-100-cosine --minutes 15
--parallel 1`, and mlearn-Ge beside it), then Cu and Ni (`python models/build.py fit gaunt-mlearn-EL --minutes 15
--threads 1`, catalogue `lr_schedule="cosine"`). Validation E MAE / F MAE, cosine against the shipped schedule: Mo 2.74
/ 133.2 against 3.13 / 134.8, Ge 1.83 / 41.1 against 1.98 / 42.2, Cu 0.82 / 9.1 against 1.28 / 10.9 (F RMSE 17.6
against 20.2), Ni 0.79 / 18.9 against 0.87 / 20.7 (F RMSE 33.7 against 36.8). All four ship with it (Mo and Ge 1.2,
packaged from the ablation fits, which run the same `gaunt-md fit` command; Cu and Ni 1.4). On the test files
Cu, Ni and Mo improved (E MAE 1.62 → 0.90, 1.42 → 1.34, 4.96 → 3.78 meV/atom; Cu's force MAE is now 0.010 eV/Å, the
published 0.01), while Ge's test energy error rose from 2.48 to 2.79 meV/atom although its validation error fell:
the models are chosen on validation, and the 23 validation frames of Ge do not settle a 0.3 meV/atom difference
(logs: `benchmarks/results/fit_logs/gaunt-mlearn-EL-VERSION_log.csv`). With cosine, Si and Li did not gain
(validation Si 2.46 / 51.4 against 1.0's 2.32 / 52.0, Li 0.38 / 8.1 against 0.40 / 8.1; `benchmarks/ablation.py`
variants `crystal-cosine`, `crystal-low-stress-cosine`), so they stay 1.0. The 1.4 settings with hidden_lmax 2 (the
molecule default; `python models/build.py fit gaunt-mlearn-EL --minutes 15 --threads 1`, catalogue `hidden_lmax=2`,
side by side): Cu 1.03 / 9.8 against 0.82 / 9.1, Ni 0.80 / 18.3 against 0.79 / 18.9, 30 epochs against 37: not
shipped (logs `benchmarks/results/fit_logs/mlearn-EL-hidden-lmax-2_log.csv`). Cu's 1.4 settings with energy weight
1000 in stage one too (`gaunt-md fit --config models/_work/gaunt-mlearn-Cu/config.yaml --hidden-lmax 1
--energy-weight 1000`, 2026-12-04, beside the gaunt-water acceptance MD): validation 1.06 / 9.6 (F RMSE 18.1)
against 0.82 / 9.1, 40 epochs: worse on both, not shipped (log `mlearn-Cu-energy-weight-1000_log.csv`). Then two
more of the same kind side by side (flags `--channels 32` and `--lr 0.02` in place of the energy weight): 32
channels ran 57 epochs against 37 and ended at 0.98 / 9.2 (F RMSE 17.5 against 17.6), lr 0.02 (42 epochs) at 1.07 / 10.0: neither
beats 1.4's energies, not shipped (logs `mlearn-Cu-channels-32_log.csv`, `mlearn-Cu-lr-0.02_log.csv`).

Energy weight 1000 (version 1.3 of Mo and Ge, 2026-12-05). The shipped models are biased on their own training frames
by config type (one-off evaluation of each model in float64 on its `train.xyz`, prediction minus label, meV/atom): Ni
1.4 Vacancy +1.02 +- 0.31 (36 frames, about 110 meV per 107-atom frame), Elastic -0.90 +- 1.43; Mo 1.2 Vacancy +1.67,
Elastic -1.15; Cu 1.4 within 0.5 everywhere. At energy weight 100 an energy error of 1 meV/atom weighs about 1e-4 in
the loss against about 0.1 for the forces, so whole config types keep an offset. Refits with both energy weights 10x
(`--energy-weight 1000 --stage-two-energy-weight 10000`, otherwise each shipped model's `training.config`, 15 minutes,
one thread, gaunt-md 0.3.4 with fused Adam; Mo beside Ge, Ni beside an energy weight 10000 / 100000 refit of Ni).
Validation E MAE / F MAE / F RMSE (meV/atom, meV/Å), against the shipped model's:

| element | shipped | energy weight 1000 | energy weight 10000 |
|---|---|---|---|
| Mo | 2.74 / 133.2 / 224.0 | 2.59 / 131.6 / 222.3 | |
| Ge | 1.83 / 41.1 / 64.0 | 1.33 / 44.0 / 68.2 | |
| Ni | 0.79 / 18.9 / 33.7 | 0.53 / 20.5 / 36.9 | 0.50 / 36.1 / 65.6 |
| Cu | 0.82 / 9.1 / 17.6 | 0.55 / 10.8 / 19.9 | |
| Ni, stress weight 0.01 | 0.79 / 18.9 / 33.7 | 0.57 / 22.4 / 40.0 | |
| Si (1.0: energy weight 1, plateau) | 2.32 / 52.0 / not recorded | 2.34 / 52.3 / 105.9 | |
| Li (1.0: energy weight 1, plateau) | 0.40 / 8.1 / not recorded | 0.33 / 8.7 / 12.3 | |

Mo's refit is better on all three and ships as 1.3. Ge's trades 7% on forces for 27% on energies; it ships as 1.3
because on validation it is the one at the published levels on both (E MAE 1.33 against MTP's 1.79 meV/atom, F MAE
44.0 meV/Å against 50), where 1.2 missed the energy (1.83). Ni's refits trade forces for energies with its force error
already twice the published 0.01 eV/Å, so Ni stays 1.4; with the stress weight lowered to 0.01 as well (in case the
stress term pulled the strained cells' energies) its forces and stresses got worse still (stress MAE 0.283 against
0.097 GPa). Cu's refit makes the same trade (33% on energies for 19% on forces): Cu stays 1.4. Si and Li (their 1.0 settings with the weights above and
`--lr-schedule cosine`, side by side, 2026-12-05): Si ties 1.0, Li trades 7% on forces for 18% on energies with both
models within the published levels on validation, so both stay 1.0 (logs: `benchmarks/results/fit_logs/gaunt-mlearn-EL-1.3_log.csv`,
`mlearn-EL-energy-weight-1e3_log.csv`, `mlearn-Ni-energy-weight-1e4_log.csv`).

Longer fits (version 1.5 of Cu and Ni, 2026-12-05). The fcc cells hold about 100 atoms, so the 15-minute fits ran only
37 epochs, and their validation curves were still falling when the cosine schedule ended them. Cu and Ni refitted with the
energy weights above for 45 minutes of one thread each, side by side (`gaunt-md fit --config CONFIG --output DIR
--threads 1`, CONFIG = each 1.4 model's `training.config` with `energy_weight: 1000`, `stage_two_energy_weight: 10000`
and `max_minutes: 45`; on this session's machine two side-by-side crystal fits took 30-45 s per epoch, against about 25 s
for one alone). Validation E MAE / F MAE / F RMSE (meV/atom, meV/Å): Cu 0.39 / 8.8 / 16.8 in 69 epochs against 1.4's
0.82 / 9.1 / 17.6 (better on all three, and against the 15-minute fit with the same weights, 0.55 / 10.8 / 19.9); Ni 0.57
/ 19.3 / 34.4 in 74 epochs against 0.79 / 18.9 / 33.7 (28% better energies, 2% worse forces; the 15-minute fit with the
same weights: 0.53 / 20.5 / 36.9). Both ship as 1.5. On the test files the energy MAE fell from 0.90 to 0.60 (Cu) and
from 1.34 to 0.60 meV/atom (Ni; the surface slabs from 5.9 to 1.8, the vacancies from 1.05 to 0.34), the force MAE moved
from 10.5 to 10.8 (Cu) and 17.9 to 18.2 meV/Å (Ni), and C11 / C12 / C44 on the DFT frames from 193 / 130 / 85 to 197 /
135 / 87 GPa (Cu, DFT 189 / 131 / 85) and 287 / 170 / 138 to 296 / 173 / 138 (Ni, DFT 291 / 169 / 139). Both energies
are still above the published 0.41 (Cu, MTP) and 0.42 meV/atom (Ni, GAP), and both fits exceed the issue's ~15-minute
budget; more epochs closed about half of the energy gap, and whether the rest needs more time or another model is open (logs `benchmarks/results/fit_logs/gaunt-mlearn-EL-1.5_log.csv`).

Mo 1.4 and Li 1.1 (2026-12-05) are 45-minute fits of the same kind, side by side: Mo in the 1.3 settings, Li in 1.0's
with the cosine schedule and energy weights 1000 / 10000 (run folders, config and log included, in
`benchmarks/results/candidates/gaunt-mlearn-EL-45min/`). Validation E MAE / F MAE / F RMSE: Mo 2.24 / 133.3 / 224.8 in
130 epochs against 1.3's 2.59 / 131.6 / 222.3 (14% better energies, 1% worse forces); Li 0.28 / 7.9 / 11.1 in 157
epochs against 1.0's 0.40 / 8.1. Both ship. On the test files Li's energy MAE fell from 0.58 to 0.34 meV/atom (the
surface slabs from 3.5 to 1.3) and its force MAE from 0.009 to 0.008 eV/Å: below GAP's and MTP's 0.49 and 0.01, the
first element at the published errors on both. Mo's test energy MAE stayed at 3.67 meV/atom (force MAE 0.098 against
0.098 eV/Å): its two surface slabs (22 meV/atom) hold most of it, and it stays above GAP's 2.24 and 0.09.

The DFT lattice constant is the ground-state cell of the training data corrected by the isotropic strain that removes
its residual stress, that stress taken from the energies of the strained Elastic frames (not from the stress labels,
so the Cu/Ni offset stays out); C11, C12, C44 are stress-strain slopes over the clamped-ion Elastic frames (strains
up to 5%), the model's by the same fit on the same cells (`models/elastic.py`). Published GAP and MTP test MAEs are
from the data README (Zuo et al. 2020). Energies meV/atom, forces eV/Å, stresses GPa (MAE over the test frames)."""


def docs_table() -> list[str]:
    """The mlearn models beside GAP and MTP, with their lattice and elastic acceptance, for docs/accuracy.md."""
    rows = [
        *PROSE.splitlines(),
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
