"""gaunt-md eval: its numbers against a hand computation, per config_type, and the files it writes."""

import json

import numpy as np
import pytest
from ase.io import read, write

from gaunt_md import GauntCalculator
from gaunt_md.data import read_frames
from helpers import fit_args, run

pytestmark = pytest.mark.data  # reads ../shared/data


def test_eval_numbers_equal_a_hand_computation(acac_files, tmp_path):
    out = tmp_path / "run"
    assert run(*fit_args(acac_files, out, 1)).exit_code == 0
    preds = tmp_path / "preds.xyz"
    result = run(
        "eval",
        out / "model.pt",
        acac_files / "valid.xyz",
        "--output",
        preds,
        "--plot",
        tmp_path / "parity.png",
        "--json",
        tmp_path / "errors.json",
    )
    assert result.exit_code == 0, result.output
    calc = GauntCalculator(str(out / "model.pt"), device="cpu", dtype="float64")
    e_err, f_err = [], []
    for frame in read_frames(acac_files / "valid.xyz"):
        atoms = frame.atoms.copy()
        atoms.calc = calc
        e_err.append((atoms.get_potential_energy() - frame.energy) / len(atoms))
        f_err.append((atoms.get_forces() - frame.forces).ravel())
    f_err = np.concatenate(f_err)
    errors = json.loads((tmp_path / "errors.json").read_text())
    assert errors["units"]["energy_mae"] == "meV/atom" and errors["units"]["forces_rmse"] == "meV/Å"
    table = errors["files"][str(acac_files / "valid.xyz")]["all"]
    assert table["energy_mae"] == pytest.approx(1e3 * np.mean(np.abs(e_err)), abs=1e-9)
    assert table["forces_rmse"] == pytest.approx(1e3 * np.sqrt(np.mean(f_err**2)), abs=1e-9)
    header, row = [line.strip() for line in result.output.splitlines()[1:3]]
    assert "energy mae (meV/atom)" in header and "forces rmse (meV/Å)" in header
    assert row.split()[:2] == ["all", "4"] and f"{table['forces_rmse']:.4g}" in row.split()
    assert table["energy_total_mae"] == pytest.approx(1e3 * np.mean(np.abs(e_err)) * 15, rel=1e-9)
    written = read(preds, ":")
    reference = read(acac_files / "valid.xyz", ":")
    assert written[0].get_potential_energy() == pytest.approx(reference[0].get_potential_energy())  # labels untouched
    assert "gaunt_energy" in written[0].info and written[0].arrays["gaunt_forces"].shape == (15, 3)
    assert (tmp_path / "parity.png").stat().st_size > 1000


def test_eval_reports_each_config_type(acac_files, tmp_path):
    out = tmp_path / "run"
    assert run(*fit_args(acac_files, out, 1)).exit_code == 0
    frames = read(acac_files / "valid.xyz", ":")
    for i, atoms in enumerate(frames):
        atoms.info["config_type"] = "hot" if i < 3 else "cold"
    write(tmp_path / "typed.xyz", frames)
    result = run("eval", out / "model.pt", tmp_path / "typed.xyz", "--json", tmp_path / "errors.json")
    assert result.exit_code == 0, result.output
    table = json.loads((tmp_path / "errors.json").read_text())["files"][str(tmp_path / "typed.xyz")]
    assert set(table) == {"all", "hot", "cold"} and (table["hot"]["frames"], table["cold"]["frames"]) == (3, 1)
    calc = GauntCalculator(str(out / "model.pt"), device="cpu", dtype="float64")
    errors = []
    for atoms in read(acac_files / "valid.xyz", ":3"):
        reference = atoms.get_forces()
        atoms.calc = calc
        errors.append(atoms.get_forces() - reference)
    assert table["hot"]["forces_mae"] == pytest.approx(1e3 * np.mean(np.abs(errors)), rel=1e-9)
    assert "\n  hot " in result.output and "\n  cold " in result.output
