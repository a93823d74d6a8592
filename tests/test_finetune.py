"""gaunt-md fit --init-model: the child starts as the parent, records it, and refuses what cannot carry over."""

import numpy as np
import pytest
from ase.io import read, write

from gaunt_md.data import read_frames
from helpers import DATA, energy_forces, fit_args, run

pytestmark = pytest.mark.data  # reads ../shared/data


def test_init_model_starts_from_the_parent_and_records_it(acac_files, tmp_path):
    import hashlib

    from gaunt_md import GauntForceField

    parent = tmp_path / "parent"
    assert run(*fit_args(acac_files, parent, 1)).exit_code == 0
    child = tmp_path / "child"
    args = fit_args(acac_files, child, 1)
    args.remove("--e0s")  # keep the parent's E0s
    args.remove(DATA / "acac" / "isolated_atoms.xyz")
    result = run(*args, "--init-model", parent / "model.pt", "--lr", "1e-12")
    assert result.exit_code == 0, result.output
    assert "fine-tuning" in result.output
    old, new = GauntForceField.load(parent / "model.pt"), GauntForceField.load(child / "checkpoints" / "best.pt")
    assert new.config.e0s == old.config.e0s and new.config.shift == old.config.shift
    assert new.config.parent["sha256"] == hashlib.sha256((parent / "model.pt").read_bytes()).hexdigest()
    frames = read_frames(acac_files / "valid.xyz")
    for frame in frames:  # at lr 1e-12 one epoch changes nothing: the child starts as the parent
        e_old, f_old = energy_forces(old, frame.atoms)
        e_new, f_new = energy_forces(new, frame.atoms)
        assert e_new == pytest.approx(e_old, abs=1e-8)
        np.testing.assert_allclose(f_new, f_old, atol=1e-8)
    assert GauntForceField.load(child / "model.pt").config.parent == new.config.parent  # the shipped file has it too


def test_init_model_refuses_another_architecture_or_new_elements(acac_files, tmp_path):
    parent = tmp_path / "parent"
    assert run(*fit_args(acac_files, parent, 1)).exit_code == 0
    result = run(*fit_args(acac_files, tmp_path / "a", 1), "--init-model", parent / "model.pt", "--channels", "16")
    assert result.exit_code == 1 and "keeps the parent's architecture" in result.output
    assert "channels 16 (parent: 8)" in result.output and not (tmp_path / "a").exists()
    si = read(DATA / "mlearn" / "Si" / "train.xyz", ":3")
    write(tmp_path / "si.xyz", si)
    args = ["fit", "--train", tmp_path / "si.xyz", "--valid-fraction", 0.34, "--output", tmp_path / "b"]
    result = run(*args, "--init-model", parent / "model.pt")
    assert result.exit_code == 1 and "the data has Si, which the parent model does not know" in result.output
    assert not (tmp_path / "b").exists()
