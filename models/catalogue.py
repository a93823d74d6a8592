"""The shipped models: what each is fitted on and how, where its files go (``models/build.py`` makes them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
WORK = HERE / "_work"
VERSION = "1.0"  # of a model whose entry below names none
CITATION = (
    'BOTNet datasets: I. Batatia, S. Batzner, D. P. Kovács et al., "The Design Space of E(3)-Equivariant '
    'Atom-Centered Interatomic Potentials", arXiv:2205.06643 (MIT licence)'
)
ONE_THREAD = "1 thread of 2 shared CPU cores (no GPU)"
DEFAULTS = {
    "0.2.0": "normalised initialisation, channel-wise many-body product, batch size 2, ZBL pair prior",
    "0.3.0": "as 0.2.0, with hidden_lmax 2 and float32 training (energies summed in float64)",
}
DEFAULTS["0.3.2"] = DEFAULTS["0.3.0"]  # no default changed in 0.3.1 and 0.3.2
DEFAULTS["0.3.3"] = "as 0.3.0, with the cosine learning-rate schedule"
DEFAULTS["0.3.5"] = DEFAULTS["0.3.3"]  # no default changed in 0.3.4 and 0.3.5
DEFAULTS["0.3.6"] = DEFAULTS["0.3.3"]  # 0.3.6: C++ wrapper of compiled graphs, fit keeps temporaries in the heap
DEFAULTS["0.3.7"] = DEFAULTS["0.3.3"]  # 0.3.7: Lebedev grid, folded inference maps, small molecules on 2 threads
DEFAULTS["0.3.8"] = DEFAULTS["0.3.3"]  # 0.3.8: the ZBL prior ends short of the training data's closest pairs
PLATEAU = dict(lr_schedule="plateau")  # the default schedule before gaunt-md 0.3.3, for the models fitted with it
PAIR_RUN = (
    "Fitted with `--threads 1 --minutes 90` and the defaults of gaunt-md {code} ({defaults}), side by side with {other} "
    "{version} (one thread each on the 2 cores, {date}); at the end `gaunt-md fit` refitted the per-atom energy shift on "
    "the training frames (below)."
)
# refitted with `--compile` (gaunt-md 0.3.1)
SHIPPED_2_2 = dict(version="2.2", hardware=ONE_THREAD, compile=True, **PLATEAU)
SHIPPED_2_3 = dict(SHIPPED_2_2, version="2.3", lr_schedule="cosine")  # gaunt-md 0.3.2, `--lr-schedule cosine`
COSINE = (  # gaunt-acac since 2.3
    " The learning rate follows `--lr-schedule cosine` (from lr to lr/100 over the 90 minutes, capped at stage two's "
    "rate from 80%), chosen for version 2.3 on its validation split (F RMSE 9.37 meV/Å and E RMSE 0.088 meV/atom "
    "against the plateau schedule's 9.73 and 0.098 in version 2.2; docs/accuracy.md)."
)
SHIPPED_2_4 = dict(SHIPPED_2_3, version="2.4")  # the 2.3 settings, refitted with gaunt-md 0.3.5
# gaunt-acac 2.5: hidden_lmax 3, chosen on the validation split, then fitted on every training frame
SHIPPED_2_5 = dict(SHIPPED_2_4, version="2.5", hidden_lmax=3, valid_in_training=True)
FASTER = (  # gaunt-ethanol 2.3 and gaunt-3bpa 2.3 (and gaunt-acac 2.4)
    " Its epochs took a median {now} s against {then} s for version {previous}'s fit: about 1.2x of that is gaunt-md "
    "0.3.4's training step (inductor called directly, Adam's fused kernel; docs/accuracy.md), the rest a quieter machine."
)
COMPILED = (
    " The training step was compiled (`--compile`, gaunt-md 0.3.1: loss and gradients traced into one graph and "
    "compiled by inductor), which runs about twice the epochs of the eager step in the same time."
)


def pair_run(other: str, version: str, date: str, code: str) -> str:
    return PAIR_RUN.format(other=other, version=version, date=date, code=code, defaults=DEFAULTS[code])


def validation_gain(previous: str, frames: int, new: tuple, old: tuple) -> str:
    """The refit against the model it replaces on the validation split; new, old: (epochs, F RMSE meV/Å, F MAE
    meV/Å, E RMSE meV/atom), evaluated in float64."""
    return (
        f" On its validation split ({frames} frames) F RMSE {new[1]} meV/Å, F MAE {new[2]} and E RMSE {new[3]} meV/atom "
        f"against version {previous}'s {old[1]}, {old[2]} and {old[3]} ({new[0]} epochs against {old[0]}; "
        "docs/accuracy.md)."
    )


BOTNET = dict(citation=CITATION, licence="MIT")  # the molecule datasets
MODELS = {
    "gaunt-acac": dict(
        subject="acetylacetone",
        published=("rmse", 5.1),
        **SHIPPED_2_5,
        conditions="300 K gas-phase MD geometries",
        train="acac/train_300K.xyz",
        test="acac/test_MD_300K.xyz",
        e0s="acac/isolated_atoms.xyz",
        valid_fraction=0.1,
        notes="Version 2.4's settings with hidden_lmax 3 (node features up to degree 3 between the layers, against 2), "
        "fitted with `--threads 1 --minutes 90` and gaunt-md 0.3.5 on all 500 frames of the training file, side by side "
        "with the same settings on the 450 frames without the validation split (2026-12-05, one thread each on the 2 "
        "cores)."
        + COMPILED
        + COSINE
        + " hidden_lmax 3 was chosen on the validation split by that second fit: F RMSE 7.58 meV/Å, F MAE 4.80 and E RMSE "
        "0.074 meV/atom against version 2.4's 8.06, 5.23 and 0.074 (997 epochs of 5.4 s against 1282 of 4.2 s), and on "
        "the 500 frames of `acac/train_600K.xyz` (600 K, never trained on) F RMSE 34.1 against 44.5 meV/Å; it costs about "
        "1.3x per epoch. This model then ran 863 epochs of 6.2 s on all 500 frames (docs/accuracy.md).",
        what="acetylacetone (C5H8O2) at 300 K; DFT UHF PBE+D3/def2-SVP (ORCA 5), xTB MD geometries",
        **BOTNET,
    ),
    "gaunt-ethanol": dict(
        subject="ethanol",
        published=("mae", 2.1),
        **SHIPPED_2_3,
        conditions="the rMD17 500 K gas-phase MD geometries",
        train="ethanol/train.xyz",
        test="ethanol/test_MD.xyz",
        e0s="ethanol/isolated_atoms.xyz",
        valid_fraction=0.05,
        notes=pair_run("gaunt-acac", "2.4", "2026-12-05", "0.3.5")
        + COMPILED
        + " The learning rate followed the cosine schedule (the default since gaunt-md 0.3.3; version 2.2 had the plateau "
        "schedule)."
        + FASTER.format(now=5.5, then=15.6, previous="2.2")
        + validation_gain("2.2", 50, (974, 5.29, 3.50, 0.089), (341, 6.64, 4.43, 0.129)),
        what="ethanol from the revised MD17 (rMD17), DFT PBE/def2-SVP",
        **BOTNET,
    ),
    "gaunt-3bpa": dict(
        subject="3-(benzyloxy)pyridin-2-amine (3BPA)",
        **SHIPPED_2_3,
        conditions="300 K gas-phase MD geometries",
        train="3bpa/train_300K.xyz",
        test=None,
        e0s="3bpa/isolated_atoms.xyz",
        valid_fraction=0.1,
        notes=pair_run("gaunt-water", "2.2", "2026-12-05", "0.3.5")
        + COMPILED
        + " Version 2.2's settings, refitted."
        + FASTER.format(now=10.2, then=19.9, previous="2.2")
        + validation_gain("2.2", 50, (524, 12.20, 8.26, 0.169), (262, 13.72, 9.56, 0.218)),
        what="3-(benzyloxy)pyridin-2-amine (C12H12N2O, 27 atoms) at 300 K, DFT ωB97X/6-31G(d)",
        **BOTNET,
    ),
    "gaunt-water": dict(
        subject="liquid water",
        version="2.3",  # version 2.2's settings with lr 0.02 (docs/accuracy.md)
        hardware=ONE_THREAD,
        conditions="liquid at ambient temperature and density",
        train="water/train.xyz",
        test="water/test.xyz",
        e0s="average",
        valid_fraction=0.1,
        dtype="float32",
        batch_size=2,
        hidden_lmax=1,
        lr_schedule="cosine",
        lr=0.02,
        notes=pair_run("a hidden_lmax 2 refit of version", "2.2", "2026-12-05", "0.2.0")
        + " Float32 and hidden_lmax 1 as in version 2.0, `--lr-schedule cosine`, and a learning rate of 0.02 instead "
        "of 0.01 (the cosine then falls from 0.02); eager (compiling water's one 384-atom training shape took 335 s and "
        "gained little). Its epochs took a median 82.3 s (version 2.2: 83.1 s)."
        + validation_gain("2.2", 26, (66, 12.40, 9.31, 0.108), (65, 13.56, 10.26, 0.128))
        + " The refit beside it (2.2's settings with hidden_lmax 2: 56 epochs of 97.6 s) reached 13.70, 10.28 and "
        "0.126 and was not shipped; neither was an earlier compiled hidden_lmax 2 refit (gaunt-md 0.3.1).",
        limits="Not for NPT: every training frame has the same 12.44 Å box and there are no virial labels, so nothing in "
        "the data constrains how the energy changes with volume (the pressure). At the training density the model's "
        "pressure is positive (NVT run above), and NPT expands the liquid (density above).",
        what="liquid water, 64 H2O in a periodic 12.44 Å box, frames from ab initio MD (DeePMD-kit example data)",
        citation="DeePMD-kit example data (examples/water/data): L. Zhang et al., Comput. Phys. Commun. 228, 178 (2018)",
        licence="LGPL-3.0 (training data)",
    ),
}

ZUO = (
    'Y. Zuo et al., "Performance and Cost Assessment of Machine Learning Interatomic Potentials", J. Phys. Chem. A '
    "124, 731 (2020); data: github.com/materialsvirtuallab/mlearn"
)
CRYSTAL_FIT = dict(
    channels=64, hidden_lmax=1, dtype="float32", **PLATEAU
)  # chosen on mlearn Si validation (docs/accuracy.md)
MLEARN_FIT = dict(CRYSTAL_FIT, energy_weight=100.0)  # chosen on mlearn Mo validation (docs/accuracy.md, materials)
LOW_STRESS = dict(stress_weight=0.1)  # the stress labels that the data README flags (Cu/Ni offset, Li shears)
FCC = dict(LOW_STRESS, r_max=4.0)  # two neighbour shells; chosen on mlearn Cu validation (docs/accuracy.md, materials)
COSINE_LR = dict(lr_schedule="cosine")  # chosen on mlearn Mo, Ge, Cu and Ni validation (docs/accuracy.md, materials)
# energy weights 10x in both stages; chosen on mlearn Mo and Ge validation (docs/accuracy.md, materials)
HEAVY_ENERGY = dict(COSINE_LR, energy_weight=1000.0, stage_two_energy_weight=10000.0)
# shipped by the rule on mlearn Mo validation; a second seed did no better than squared errors (docs/accuracy.md)
HUBER = dict(loss="huber", huber_delta=0.1)
MO_FRAMES = dict(  # version 1.6: the epoch picked on independent Mo frames (models/independent.py, docs/accuracy.md)
    independent_valid="every frame trained on (its 10% validation split included); the epoch picked on 59 elemental "
    "Mo frames of the NbMoTaW data (`../shared/data/nbmotaw`, the same group's VASP settings) that are not in mlearn "
    "Mo, and the ship decision taken on 291 more (`models/independent.py`)"
)
MLEARN = {  # element: (what, published test MAEs {model: (E meV/atom, F eV/Å)}, settings beyond CRYSTAL_FIT)
    "Si": (
        "diamond-cubic silicon",
        {"GAP": (2.91, 0.07), "MTP": (2.21, 0.06)},
        dict(hidden_lmax=2, compile=True, **HEAVY_ENERGY),
    ),
    "Ge": ("diamond-cubic germanium", {"GAP": (2.06, 0.05), "MTP": (1.79, 0.05)}, HEAVY_ENERGY),
    "Li": ("bcc lithium", {"GAP": (0.49, 0.01), "MTP": (0.49, 0.01)}, dict(LOW_STRESS, **HEAVY_ENERGY)),
    "Mo": ("bcc molybdenum", {"GAP": (2.24, 0.09), "MTP": (2.83, 0.09)}, dict(HEAVY_ENERGY, **HUBER, **MO_FRAMES)),
    "Cu": ("fcc copper", {"GAP": (0.46, 0.01), "MTP": (0.41, 0.01)}, dict(FCC, stress_offset=2.3, **HEAVY_ENERGY)),
    "Ni": (
        "fcc nickel",
        {"GAP": (0.42, 0.02), "MTP": (0.48, 0.01)},
        dict(FCC, stress_offset=2.8, compile=True, **HEAVY_ENERGY),
    ),
}
# minutes of one thread (default 15): the ~100-atom fcc cells ran only 37 epochs in 15 minutes, and the validation
# errors of Mo and Li were still falling at the end of their 15-minute fits
MINUTES = {"Cu": 45, "Ni": 45, "Mo": 45, "Li": 45}
STRESS_NOTE = {
    "Li": "The stress weight is 0.1 GPa^-2 (default 1): the six shear stresses of mlearn Li's 2-atom elastic frames "
    "do not follow the strain (data README).",
    "Cu": "The stress weight is 0.1 GPa^-2 (default 1) and the stress labels are shifted by +2.3 GPa "
    "(`--stress-offset 2.3`): mlearn Cu stresses carry a constant isotropic offset of about -2.6 GPa (most likely "
    "VASP's Pulay stress; -2.34 GPa is the stress bias on the training frames of a fit without stress), so unshifted "
    "labels and energies disagree on the equilibrium volume. The model's stress follows its energies: compare it with "
    "the labels less the offset.",
    "Ni": "The stress weight is 0.1 GPa^-2 (default 1) and the stress labels are shifted by +2.8 GPa "
    "(`--stress-offset 2.8`): mlearn Ni stresses carry a constant isotropic offset of about -3.0 GPa (most likely "
    "VASP's Pulay stress; -2.82 GPa is the stress bias on the training frames of a fit without stress), so unshifted "
    "labels and energies disagree on the equilibrium volume. The model's stress follows its energies: compare it with "
    "the labels less the offset.",
}
CRYSTAL_RUN = (
    "Fitted with `--threads 1 --minutes {minutes}`, 64 channels, hidden_lmax 1 and float32 training (4x the epochs of "
    "the 0.2.0 default model in the same time; chosen on the validation split of mlearn Si, docs/accuracy.md), trained "
    "on energies, forces and stresses (`--stress-key stress`), side by side with {other} (one thread each on the 2 "
    "cores, {date})."
)
ENERGY_NOTE = (
    "Version 1.1 raised the first stage's energy weight to 100 (default 1; later versions below may change it again): "
    "on the validation split of mlearn Mo it lowered the energy MAE "
    "from 4.34 to 2.98 meV/atom at the same force error (docs/accuracy.md, materials)."
)
REFITTED = {"Ge", "Mo", "Ni", "Cu"}  # version 1.1 (energy weight 100) shipped where its validation errors beat 1.0's
KEPT = {  # why a 1.1 refit (energy weight 100) was not shipped; validation E MAE meV/atom, F MAE meV/Å
    "Si": "A refit of version 1.0 with energy weight 100 (the other elements' version 1.1 settings) was not shipped: on "
    "its validation split its energy MAE was 3.85 meV/atom against 1.0's 2.32 (docs/accuracy.md, materials).",
    "Li": "A refit of version 1.0 with energy weight 100 (the other models' version 1.1 settings) was not shipped: on "
    "its validation split it was no better (E MAE 0.41 meV/atom against 0.40, F MAE 8.0 meV/Å against 8.1; docs/accuracy.md, materials).",
}
RMAX_CHANGE = (
    "cutoff r_max 4.0 Å (default 5.0), two fcc neighbour shells (chosen on mlearn Cu validation), in the 1.1 settings"
)
OFFSET_CHANGE = "the 1.2 settings on the offset-corrected stress labels (above)"
COSINE_CHANGE = (
    "`--lr-schedule cosine` (the learning rate falls from 0.01 to 0.0001 along a cosine over the 15 minutes, capped "
    "at stage two's 0.001 from 80%) instead of the plateau schedule, which had not lowered it before stage two"
)
ENERGY_CHANGE = (
    "energy weight 1000 in the first stage and 10000 in the second (`--energy-weight 1000 "
    "--stage-two-energy-weight 10000`, 10x the 1.2 settings'): at weight 100 an energy error of 1 meV/atom weighed "
    "about 1000x less in the loss than the forces, and whole config types (vacancies, strained cells) kept a "
    "constant energy offset on their own training frames"
)
LONGER_CHANGE = (
    "45 minutes of one thread instead of 15 (the ~100-atom cells had run only 37 epochs in 15 minutes) with "
    "energy weights 1000 and 10000 in the two stages (`--energy-weight 1000 --stage-two-energy-weight 10000`, "
    "10x the 1.4 settings'); fitted side by side with the other fcc model, 2026-12-05"
)
MO_LONGER = (
    "up to 45 minutes of one thread instead of 15 in the 1.3 settings (the validation errors were still falling when "
    "the 15-minute cosine schedule ended); fitted side by side with the Li refit, 2026-12-05. The patience rule of "
    "gaunt-md before 0.3.5 stopped it after 35 minutes, in stage one, at a learning rate of 0.0013 (the cosine "
    "schedule's end is 0.0001)"
)
LI_LONGER = (
    "45 minutes of one thread instead of 15, with `--lr-schedule cosine` and energy weights 1000 and 10000 in the two "
    "stages (`--energy-weight 1000 --stage-two-energy-weight 10000`; 1.0 had the plateau schedule and weight 1), as "
    "the refits of Ge, Mo, Cu and Ni; fitted side by side with the Mo refit, 2026-12-05"
)
SI_HL2 = (
    "hidden_lmax 2 instead of 1 (node features up to degree 2 between the two layers), otherwise 1.0's settings: on "
    "mlearn Si with three training surface slabs held out as well it fitted the unseen surfaces and every other group "
    "better than two runs of 1.0's settings (docs/accuracy.md, materials); fitted side by side with a seed-1 repeat, "
    "2026-12-06"
)
MO_HUBER = (
    "the 1.4 settings with the Huber loss (`--loss huber --huber-delta 0.1`: squared errors up to 0.1 eV/Å, "
    "0.1 eV/atom and 0.1 GPa, linear beyond, so that the liquid 3000 and 6000 K AIMD frames, whose force errors are "
    "about 0.23 eV/Å, pull less on the rest), under gaunt-md 0.3.9 (the ZBL prior short of the data's closest pairs); "
    "fitted side by side with other Mo refits, 2026-12-07; the kept model is epoch 101's. A narrow win within the "
    "scatter of seeds (a second seed reached 2.72 and 137.6); stress MAE on the test file 0.285 GPa against 1.4's 0.213"
)
MO_INDEPENDENT = (
    "the 1.5 settings trained on every frame of train.xyz, the epoch picked not on the 19-frame validation split but "
    "on 59 independent Mo frames: `models/independent.py` takes the 350 elemental Mo frames of the NbMoTaW data that "
    "are not in mlearn Mo (AIMD at 300, 1000 and 3000 K, MD at 90% and 110% of the equilibrium volume, strained "
    "2-atom cells; the 12 frames the two sets share carry the same energies), every sixth frame of each type to select "
    "and the other 291 to decide. Mo's split holds 10 liquid AIMD frames at 3000 and 6000 K whose forces overfit from "
    "epoch 65-100 on, so it kept early epochs whose energies were still off: on the 291 decision frames 1.5's last "
    "epoch (215) had E MAE 5.01 and F MAE 64.1 against its kept epoch's (101) 5.49 and 73.8. Fitted for 45 minutes "
    "of one thread under gaunt-md 0.3.11, side by side with a second seed (member 1: 2.82 and 76.2, not shipped), "
    "2026-12-07, by the rule fixed before the fits ended: on the 291 decision frames in float64, E MAE and F MAE each "
    "at most 2% above 1.5's and their ratios summing below 1.98; the kept model is epoch 161's"
)
NI_PRIOR = (
    "the 1.5 settings refitted under gaunt-md 0.3.8, whose ZBL prior ends 1% short of the training data's closest "
    "Ni-Ni pair (1.80 Å) instead of at 0.75 of the covalent-radius sum (1.86 Å), so that it is zero on every training "
    "frame (1.5's added up to 3.4 eV/Å on 6 of them); fitted side by side with a Cu refit of the same kind, "
    "2026-12-06, on a machine whose epochs took about 17 s against 1.5's 30-45 s, so the new prior and twice the "
    "epochs are not separated"
)
NI_COMPILED = (
    "the 1.6 settings with the compiled training step (`--compile`: since gaunt-md 0.3.13 one graph serves every atom "
    "and edge count of the training frames, and denormal weights are flushed to zero), 45 minutes of one thread, "
    "side by side with a Mo refit of the same kind, 2026-12-07: 208 epochs of about 13 s against 1.6's 149 of about "
    "17.5 s. The rule, fixed before the fit ended: on the validation split in float64 (`--stress-offset 2.8`), E MAE "
    "and F MAE each at most 2% above 1.6's and their ratios summing below 1.98 (0.961 + 0.959)"
)
SI_ENERGY = (
    "1.1's settings with energy weights 1000 and 10000 in the two stages and the cosine schedule (the other crystal "
    "models' settings since 2026-12-05) and the compiled training step: 1.1, fitted at 1 / 1000 as 1.0 was, was "
    "biased by config type on its own training frames (vacancies -2.50 meV/atom, about 0.16 eV per 63-atom cell; "
    "AIMD -0.76; Elastic +0.53; `benchmarks/energy_bias.py`), where the other crystal models stay within 0.5 on all "
    "but their slabs. 15 minutes of one thread under gaunt-md 0.3.15, side by side with the same on the plateau "
    "schedule (E MAE 1.96, F MAE 49.8: not shipped), 2026-12-08, by the rule fixed before the fits ended: on the "
    "validation split in float64, E MAE and F MAE each at most 2% above 1.1's and their ratios summing below 1.98 "
    "(0.850 + 1.012). Its one validation slab got worse (11.4 against 5.1 meV/atom). A second seed of the same settings "
    "(member 1) reached E MAE 1.96 and F MAE 49.6, which would not have passed: the vacancy bias is gone in both "
    "runs, the margin on validation is partly this run's draw"
)
REFITS = {  # the refits that shipped, oldest first: version, the one before, what changed, and of the new and the
    # previous model on validation: epochs, E MAE meV/atom, F MAE meV/Å, F RMSE meV/Å (None: not recorded)
    "Mo": [
        ("1.2", "1.1", COSINE_CHANGE, (83, 2.74, 133.2, 224.0), (64, 3.13, 134.8, None)),
        ("1.3", "1.2", ENERGY_CHANGE, (82, 2.59, 131.6, 222.3), (83, 2.74, 133.2, 224.0)),
        ("1.4", "1.3", MO_LONGER, (130, 2.24, 133.3, 224.8), (82, 2.59, 131.6, 222.3)),
        ("1.5", "1.4", MO_HUBER, (215, 2.17, 134.6, 228.2), (130, 2.24, 133.3, 224.8)),
        ("1.6", "1.5", MO_INDEPENDENT, (176, 2.93, 73.4, 109.8), (215, 5.49, 73.8, 110.4), "the 291 decision frames"),
    ],
    "Si": [
        ("1.1", "1.0", SI_HL2, (57, 2.04, 48.4, 91.9), (50, 2.32, 52.0, None)),
        ("1.2", "1.1", SI_ENERGY, (73, 1.74, 49.0, 103.7), (57, 2.04, 48.4, 91.9)),
    ],
    "Li": [("1.1", "1.0", LI_LONGER, (157, 0.28, 7.9, 11.1), (56, 0.40, 8.1, None))],
    "Ge": [
        ("1.2", "1.1", COSINE_CHANGE, (68, 1.83, 41.1, 64.0), (53, 1.98, 42.2, None)),
        ("1.3", "1.2", ENERGY_CHANGE, (65, 1.33, 44.0, 68.2), (68, 1.83, 41.1, 64.0)),
    ],
    "Cu": [
        ("1.2", "1.1", RMAX_CHANGE, (35, 2.58, 10.8, 20.2), (23, 2.57, 11.7, 21.0)),
        ("1.3", "1.2", OFFSET_CHANGE, (33, 1.28, 10.9, 20.2), (35, 2.58, 10.8, 20.2)),
        ("1.4", "1.3", COSINE_CHANGE, (37, 0.82, 9.1, 17.6), (33, 1.28, 10.9, 20.2)),
        ("1.5", "1.4", LONGER_CHANGE, (69, 0.39, 8.8, 16.8), (37, 0.82, 9.1, 17.6)),
    ],
    "Ni": [
        ("1.2", "1.1", RMAX_CHANGE, (34, 2.07, 20.2, 36.0), (19, 2.43, 23.5, 40.5)),
        ("1.3", "1.2", OFFSET_CHANGE, (33, 0.87, 20.7, 36.8), (34, 2.07, 20.2, 36.0)),
        ("1.4", "1.3", COSINE_CHANGE, (37, 0.79, 18.9, 33.7), (33, 0.87, 20.7, 36.8)),
        ("1.5", "1.4", LONGER_CHANGE, (74, 0.57, 19.3, 34.4), (37, 0.79, 18.9, 33.7)),
        ("1.6", "1.5", NI_PRIOR, (149, 0.37, 16.4, 29.5), (74, 0.57, 19.3, 34.4)),
        ("1.7", "1.6", NI_COMPILED, (208, 0.35, 15.7, 28.6), (149, 0.37, 16.4, 29.5)),
    ],
}


def refit_note(
    version: str, previous: str, change: str, new: tuple, old: tuple, where: str = "this model's validation split"
) -> str:
    rmse = f", F RMSE {new[3]} against {old[3]}" if old[3] is not None else ""
    return (
        f"Version {version}: {change}. On {where} ({new[0]} epochs against {old[0]}) E MAE "
        f"{new[1]} meV/atom and F MAE {new[2]} meV/Å against {previous}'s {old[1]} and {old[2]}{rmse} "
        "(docs/accuracy.md, materials)."
    )


OTHER_FITS = {  # refits of the same element that were not shipped; validation E MAE meV/atom, F MAE meV/Å
    "Cu": "Not shipped (docs/accuracy.md, materials): a refit with stress weight 0 (the offset stresses left out): "
    "validation E MAE 1.28, F MAE 9.9 (test 3.33 and 11.8), lattice constant +0.21% from DFT, but C11, C12 143 and "
    "82 GPa on the DFT frames against DFT's 189 and 131; and a refit with stress weight 1 on the stress labels less "
    "their offset (`--stress-offset 2.3`, the stress bias of the weight-0 model on the training frames): E MAE 2.04, "
    "F MAE 14.6, stress MAE 0.060 GPa against the shifted labels, against version 1.1's 2.57 and 11.7 (version 1.0: "
    "4.32 and 13.0). 1.4 refits with energy weight 1000 in stage one too, with 32 channels, and with lr 0.02: E MAE "
    "1.06, 0.98 and 1.07, F MAE 9.6, 9.2 and 10.0 against 1.4's 0.82 and 9.1. The 1.5 settings under gaunt-md 0.3.8 "
    "(the ZBL prior short of the data's closest pairs, 2026-12-06, 153 epochs): E MAE 0.53, F MAE 7.2 against 1.5's "
    "0.39 and 8.8 (the rule fixed before the fit: neither error more than 2% worse); with hidden_lmax 2 as well "
    "(131 epochs): E MAE 0.76, F MAE 7.3. The 1.5 settings with the stress labels less 2.6 GPa instead of 2.3 (the "
    "offset that the strained cells' energies imply, `benchmarks/stress_offsets.py`; 2026-12-07, two seeds) and "
    "with 2.3 at the second seed: E MAE 0.46 and 0.45, F MAE 7.6 and 8.2; 0.60 and 8.0; with only the traceless "
    "part of the stress fitted: 0.71 and 8.5. The 1.5 settings with the compiled training step (gaunt-md 0.3.11, 45 "
    "minutes, 165 epochs, 2026-12-07): 0.44 and 7.1; compiled under gaunt-md 0.3.13 without the stress term (stress "
    "weight 0, 193 epochs): 0.58 and 7.2, C11 / C12 / C44 on the DFT frames 194 / 132 / 85 GPa; compiled under "
    "gaunt-md 0.3.13 at r_max 5.0 (124 epochs of about 20 s, the kept model from epoch 57): 0.76 and 8.2.",
    "Mo": "Not shipped (docs/accuracy.md, materials): the 1.4 settings under gaunt-md 0.3.8 (the ZBL prior short of "
    "the data's closest pairs, 45 minutes, 2026-12-06, 286 epochs, the kept model from epoch 65): validation E MAE "
    "2.77, F MAE 135.8 against 1.4's 2.24 and 133.3. The same 1.4 settings with 32 channels, with EMA decay 0.999 "
    "and with stage two from a third of a 30-minute budget (2026-12-06): kept models at E MAE 2.72, 2.84 and 3.41, "
    "F MAE 132.8, 134.0 and 134.5; every run's validation errors rose after epoch 65-100 (the liquid 6000 K AIMD "
    "frames). With r_max 4.0 (two seeds): E MAE 3.88 and 2.80, F MAE 142.0 and 153.3. 1.4's settings with the Huber "
    "loss at delta 0.01, with energy weights 10000 / 100000, and with lmax 2 (2026-12-07, each stopped well behind): "
    "F MAE 156, 159 and 147 meV/Å at their best; 1.5's settings with another seed (member 1, the same split): E MAE "
    "2.72, F MAE 137.6, so 1.5's margin over 1.4 is within the scatter of seeds. 1.6's settings with the compiled "
    "training step, on the 291 independent decision frames against 1.6's E MAE 2.93 and F MAE 73.4: 45 minutes "
    "under gaunt-md 0.3.13 (386 epochs, 2026-12-07) 2.59 and 78.1; 15 minutes under gaunt-md 0.3.15 (124 epochs, "
    "2026-12-07) 3.76 and 79.6.",
    "Li": "Not shipped (docs/accuracy.md, materials): 1.1's settings with the compiled training step in 15 minutes "
    "instead of 45 eager ones (gaunt-md 0.3.15, 108 epochs, 2026-12-07): validation E MAE 0.34, F MAE 8.7 against "
    "1.1's 0.28 and 7.9 (the rule: neither error more than 2% worse).",
    "Si": "Not shipped (docs/accuracy.md, materials): 1.1's settings with the cosine schedule (15 minutes, "
    "2026-12-07, 65 epochs): validation E MAE 2.15, F MAE 46.8 against 1.1's 2.04 and 48.4 (the refits' rule: "
    "neither error more than 2% worse). 1.1's settings with the compiled training step (gaunt-md 0.3.13, 15 minutes, "
    "68 epochs, 2026-12-07): E MAE 2.02, F MAE 48.0 (the ratios sum to 1.981, the rule asks below 1.98). 1.1's "
    "settings with each training slab three times per epoch (`config_type_repeats: {Surface: 3}`, gaunt-md 0.3.15, 15 "
    "minutes, 59 epochs, 2026-12-07): E MAE 2.80, F MAE 50.7.",
    "Ge": "Not shipped (docs/accuracy.md, materials): 1.3's settings with the compiled training step (gaunt-md 0.3.13, "
    "15 minutes, 103 epochs, 2026-12-07): validation E MAE 1.33, F MAE 43.3 against 1.3's 1.33 and 44.0 (the refits' "
    "rule: neither error more than 2% worse and the two ratios summing below 1.98; here 1.987). 1.3's settings with "
    "each training slab three times per epoch (`config_type_repeats: {Surface: 3}`, gaunt-md 0.3.15, 15 minutes, 68 "
    "epochs, 2026-12-07): E MAE 1.37, F MAE 46.2; the same with the compiled step (109 epochs): E MAE 1.73, F MAE "
    "43.6 (the rule for this one allowed each error 5% above 1.3's). Si 1.2's recipe (1.3's settings with hidden_lmax "
    "2 and the compiled step, 15 minutes, 69 epochs, 2026-12-08): E MAE 1.77, F MAE 43.8.",
    "Ni": "Not shipped (docs/accuracy.md, materials): 1.6's settings with hidden_lmax 2 (45 minutes, 2026-12-06, 130 "
    "epochs): validation E MAE 0.41, F MAE 15.9 against 1.6's 0.37 and 16.4 (the rule fixed before the fit: neither "
    "error more than 2% worse). 1.6's settings with the compiled training step under gaunt-md 0.3.9 (a graph per "
    "batch shape, 45 minutes, 136 epochs, 2026-12-07): "
    "E MAE 0.40, F MAE 16.9; the same under gaunt-md 0.3.13 before its denormal flush, whose epochs slowed from 12 to 34 s "
    "(108 epochs): E MAE 0.52, F MAE 17.2. 1.7's settings without the stress term (stress weight 0, 45 minutes, 201 "
    "epochs, 2026-12-07): E MAE 0.35, F MAE 16.3 against 1.7's 0.35 and 15.7. 1.7's settings at r_max 5.0 (45 minutes, "
    "112 epochs of about 21 s, 2026-12-07): E MAE 0.29, F MAE 17.2.",
}
for element, (what, published, settings) in MLEARN.items():
    refitted = element in REFITTED
    run = CRYSTAL_RUN.format(
        minutes=MINUTES.get(element, 15),
        other="another gaunt-mlearn fit" if refitted or element in MINUTES else "gaunt-nbmotaw",
        date="2026-12-05" if element in MINUTES else "2026-12-04" if element in REFITTED else "2026-12-03",
    )
    if "hidden_lmax" in settings:  # a later version changed it: this sentence is the first version's
        run = run.replace("Fitted with", "Version 1.0 was fitted with", 1)
    MODELS[f"gaunt-mlearn-{element}"] = dict(
        subject=what,
        conditions="the mlearn configurations: ground state, clamped-ion strains up to 10%, AIMD at several "
        "temperatures, a vacancy, low-index surface slabs",
        train=f"mlearn/{element}/train.xyz",
        test=f"mlearn/{element}/test.xyz",
        e0s="average",
        valid_fraction=0.1,
        stress_key="stress",
        crystal=True,
        published_mae=published,
        hardware=ONE_THREAD,
        notes=" ".join(
            filter(
                None,
                [
                    run,
                    ENERGY_NOTE if refitted else KEPT.get(element),
                    STRESS_NOTE.get(element),
                    *(refit_note(*refit) for refit in REFITS.get(element, [])),
                    OTHER_FITS.get(element),
                ],
            )
        ),
        what=f"{what} (mlearn benchmark, DFT PBE, VASP PAW 520 eV), trained on energies, forces and stresses",
        citation=ZUO,
        licence="BSD-3-Clause (mlearn)",
        version=REFITS[element][-1][0] if element in REFITS else "1.1" if refitted else VERSION,
        **{**(MLEARN_FIT if refitted else CRYSTAL_FIT), **settings},
    )
MODELS["gaunt-nbmotaw"] = dict(
    subject="the Nb-Mo-Ta-W alloy system",
    conditions="bcc elements (AIMD, elastic strains, surfaces) and binary solid solutions (relaxed and unrelaxed)",
    train="nbmotaw/train.xyz",
    test="nbmotaw/test.xyz",
    e0s="average",
    valid_fraction=0.05,
    stress_key="stress",
    test_groups={
        "elemental": ("Mo_Test", "Nb_Test", "Ta_Test", "W_Test"),
        "binary": ("MoTa_Test", "MoW_Test", "NbMo_Test", "NbTa_Test", "NbW_Test", "TaW_Test"),
        "quaternary": ("Multinary_Test",),
    },
    hardware=ONE_THREAD,
    notes=CRYSTAL_RUN.format(
        minutes=90, other="the six gaunt-mlearn models, one after another", date="2026-12-03"
    ).replace("Fitted with", "Version 1.0 was fitted with", 1)
    + " The published training set also has quaternary SQS frames that are not in train.xyz (data README): the "
    "quaternary test errors are extrapolation, and the model is not the published one.",
    what="Nb-Mo-Ta-W (DFT PBE, VASP PAW 520 eV), trained on energies, forces and stresses",
    citation='X.-G. Li, C. Chen, H. Zheng, Y. Zuo and S. P. Ong, "Complex strengthening mechanisms in the NbMoTaW '
    'multi-principal element alloy", npj Comput. Mater. 6, 70 (2020); data: github.com/materialsvirtuallab/maml',
    licence="BSD-3-Clause (maml)",
    version="1.1",
    compile=True,
    **{**CRYSTAL_FIT, **HEAVY_ENERGY},
)
MODELS["gaunt-nbmotaw"]["notes"] += (
    " Version 1.1 (2026-12-06, gaunt-md 0.3.8): 1.0's settings with the compiled training step (`--compile`), the "
    "cosine learning-rate schedule and energy weights 1000 / 10000 (the settings the mlearn models moved to; "
    "docs/accuracy.md, materials), and the ZBL prior ending short of the training data's closest pairs (1.0's reached "
    "into 206 training frames, adding up to 47 eV/Å). Fitted with `gaunt-md fit --config CONFIG --threads 1` for 90 "
    "minutes side by side with the same settings at 1.0's energy weights 1 / 1000; the rule, fixed before the fits "
    "ended: ship a candidate whose validation E MAE is below 1.0's and whose F MAE is at most 2% above it, of two the "
    "lower E MAE / E MAE(1.0) + F MAE / F MAE(1.0). On the validation split (264 frames, float64): E MAE 1.16 meV/atom "
    "and F MAE 23.2 meV/Å in 78 epochs, against 1.0's 2.32 and 28.5 in 25 (the other fit: 1.64 and 23.0 in 80)."
)


def version_of(name: str) -> str:
    return MODELS[name].get("version", VERSION)


def weights_of(name: str) -> Path:
    return HERE / f"{name}-{version_of(name)}.pt"


def gaunt_md(*args) -> None:
    cmd = [sys.executable, "-m", "gaunt_md.cli", *map(str, args)]
    print("$ gaunt-md " + " ".join(map(str, args)), flush=True)
    subprocess.run(cmd, check=True)
