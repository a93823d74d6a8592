"""The data of a fit: frames read and split, elements checked, E0s, labelled graphs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase.data import chemical_symbols

from ..config import FitConfig
from ..data import Frame, e0s_from_isolated_atoms, e0s_least_squares, read_frames, validation_split
from ..data.pairs import closest_pairs
from ..nn.pair_repulsion import ZBLRepulsion


@dataclass
class FitData:
    """Training (those of ``config_type_repeats`` repeated), validation and test frames, the elements of
    the training set (atomic numbers), the isolated-atom energies {Z: eV} and the closest approach of
    each pair of elements in the training file ({"H-O": Å}, training and validation frames, before any
    bootstrap: the ZBL prior stays zero there)."""

    train: list[Frame]
    valid: list[Frame]
    test: list[Frame]
    elements: list[int]
    e0s: dict[int, float]
    closest_pairs: dict[str, float]


def load_data(cfg: FitConfig) -> FitData:
    """Read, split and check the frames; ValueError (naming the file and frame) for bad input."""
    keys = dict(
        energy_key=cfg.energy_key, forces_key=cfg.forces_key, stress_key=cfg.stress_key, stress_offset=cfg.stress_offset
    )
    train = read_frames(cfg.train, **keys)
    if cfg.valid:
        valid = read_frames(cfg.valid, **keys)
    else:
        valid_idx, train_idx = validation_split(len(train), cfg.valid_fraction, cfg.seed)
        valid, train = [train[i] for i in valid_idx], [train[i] for i in train_idx]
    labelled = train + valid
    if cfg.bootstrap:  # a committee member's resample of the training frames
        drawn = np.random.default_rng([cfg.seed, cfg.member]).integers(0, len(train), len(train))
        train = [train[i] for i in drawn]
    test = read_frames(cfg.test, **keys) if cfg.test else []
    elements = sorted({int(z) for f in train for z in f.atoms.numbers})
    for name, frames in (("validation", valid), ("test", test)):
        extra = sorted({int(z) for f in frames for z in f.atoms.numbers} - set(elements))
        if extra:
            raise ValueError(
                f"the {name} data has element(s) {', '.join(chemical_symbols[z] for z in extra)} not in the training data"
            )
    types = {f.config_type for f in train}
    for name, mapping in (
        ("config_type_weights", cfg.config_type_weights),
        ("config_type_repeats", cfg.config_type_repeats),
    ):
        unknown = sorted(set(mapping) - types)
        if unknown:
            raise ValueError(
                f"{name} names {', '.join(map(repr, unknown))}, not a config_type of the training data "
                f"(it has {', '.join(map(repr, sorted(types)))})"
            )
    # after the split and the bootstrap: a repeated frame is still one frame of validation_split's draw
    train = [f for f in train for _ in range(cfg.config_type_repeats.get(f.config_type, 1))]
    reach = float(ZBLRepulsion(elements, cfg.model["r_max"]).r_off.max())  # no pair prior reaches further (Å)
    closest = closest_pairs((f.atoms for f in labelled), reach)
    return FitData(train, valid, test, elements, _e0s(cfg, train, elements), closest)


def _e0s(cfg: FitConfig, train: list[Frame], elements: list[int]) -> dict[int, float]:
    if cfg.e0s in (None, "average"):  # None with init_model: the parent's E0s are kept (finetune.py)
        return e0s_least_squares(train, elements)
    e0s = e0s_from_isolated_atoms(cfg.e0s, cfg.energy_key)
    missing = [z for z in elements if z not in e0s]
    if missing:
        raise ValueError(f"{cfg.e0s} has no isolated-atom energy for atomic number(s) {missing}")
    return e0s
