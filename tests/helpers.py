"""Helpers the tests import: where the datasets are, small random models, a periodic box, energies and forces."""

import csv
from pathlib import Path

import numpy as np
from ase import Atoms

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def small_model(elements=("H", "C", "O"), **kwargs):
    """A random-weight float64 model small enough for finite differences in a test."""
    from gaunt_md import GauntForceField

    options = dict(
        r_max=3.5, channels=16, radial_groups=4, lmax=2, hidden_lmax=1, correlation=3, num_layers=2, scale=1.0
    )
    options.update(kwargs)
    return GauntForceField(elements=list(elements), **options).double()


def periodic_box(seed=0, n=6, size=4.0, tilt=True):
    """A small random periodic cell of H, C and O (tilted unless ``tilt`` is False)."""
    rng = np.random.default_rng(seed)
    cell = np.diag([size, size * 1.1, size * 0.9])
    if tilt:
        cell[1, 0], cell[2, 1] = 0.7, -0.5
    atoms = Atoms(["O", "H", "H", "C", "H", "O"][:n], cell=cell, pbc=True)
    atoms.set_scaled_positions(rng.random((n, 3)))
    return atoms


def short_contact_cell():
    """periodic_box's tilted cell with an O-H pair 0.6 Å apart (0.62 b) only through the x boundary
    and a C-O pair 0.9 Å apart (0.63 b) only through the y boundary."""
    atoms = periodic_box(n=4)  # O, H, H, C
    cell = atoms.cell.array
    atoms.positions[0] = [0.2, 0.3, 1.5]
    atoms.positions[1] = atoms.positions[0] + cell[0] - [0.6, 0.0, 0.0]
    atoms.positions[3] = atoms.positions[0] + cell[1] - [0.0, 0.9, 0.0]
    atoms.positions[2] = [2.0, 2.2, 2.4]
    return atoms


def energy_forces(model, atoms, dtype="float64"):
    """Energy (eV) and forces (eV/Å) of ``atoms`` through a GauntCalculator of ``model``."""
    from gaunt_md import GauntCalculator

    atoms = atoms.copy()
    atoms.calc = GauntCalculator(model, device="cpu", dtype=dtype)
    return atoms.get_potential_energy(), atoms.get_forces()


FORMAT_2 = Path(__file__).parent / "data" / "model_format2.pt"  # a small model written by gaunt-md 0.1.0 (format 2)


def format_1_copy(path, prior=True):
    """The weights of the format-2 fixture as a format-1 file at ``path`` (format 1 named the radial
    MLPs ``conv.radial.*`` and had one Bessel basis ``radial.frequencies``); without ``prior`` its
    config has no pair_repulsion key, as format-1 files written before the prior existed."""
    import re

    import torch

    blob = torch.load(FORMAT_2, weights_only=True)
    state = {re.sub(r"conv\.radial\.mlp\.", "conv.radial.", k): v for k, v in blob["state_dict"].items()}
    frequencies = [state.pop(k) for k in list(state) if k.endswith("embedding.frequencies")][0]
    config = {k: v for k, v in blob["config"].items() if prior or k != "pair_repulsion"}
    torch.save(
        {**blob, "format_version": 1, "config": config, "state_dict": {**state, "radial.frequencies": frequencies}},
        path,
    )
    return path


TINY = [  # gaunt-md fit flags of a model small enough for a test fit in seconds
    "--channels",
    "8",
    "--radial-groups",
    "2",
    "--lmax",
    "2",
    "--hidden-lmax",
    "1",
    "--correlation",
    "2",
    "--num-layers",
    "2",
    "--r-max",
    "4.0",
    "--batch-size",
    "4",
    "--lr",
    "0.05",
    "--dtype",
    "float64",
]


def run(*args):
    """``gaunt-md ARGS`` in-process (click's runner); its result has exit_code and output."""
    from click.testing import CliRunner

    from gaunt_md.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def fit_files(files, out):
    """``gaunt-md fit`` on ``files``/train.xyz, validated on ``files``/valid.xyz, into ``out``."""
    return ["fit", "--train", files / "train.xyz", "--valid", files / "valid.xyz", "--output", out]


def fit_args(files, out, epochs):
    """``gaunt-md fit`` arguments of a TINY model on the acac frames in ``files`` (train.xyz, valid.xyz)."""
    return [*fit_files(files, out), "--e0s", DATA / "acac" / "isolated_atoms.xyz", "--epochs", epochs, *TINY]


def log(out):
    """The rows of a fit's log.csv."""
    return list(csv.DictReader((out / "log.csv").open()))
