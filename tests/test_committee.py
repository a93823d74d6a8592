"""Committees: mean and spread against the members one by one, the file, calibrated fits, eval, gated MD."""

import csv
import json

import numpy as np
import pytest
import torch
from ase.build import molecule
from ase.io import read, write

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.committee import Committee
from gaunt_md.config import FitConfig
from gaunt_md.train.data import load_data
from gaunt_md.uncertainty import calibration_scale, errors_and_stds
from helpers import DATA, periodic_box, run, small_model


def members(n=3, **kwargs):
    """Random members that also differ in what a fit sets per model: E0s, energy scale and shift,
    neighbour normaliser (the batched path folds these into each member's tensors)."""
    out = []
    for k in range(n):
        torch.manual_seed(k)
        e0s = {"H": -13.6 + 0.1 * k, "C": -1029.0 - 0.2 * k, "O": -2041.0 + 0.3 * k}
        out.append(small_model(e0s=e0s, scale=1.0 + 0.3 * k, shift=0.05 * k, avg_num_neighbors=8.0 + k, **kwargs))
    return out


def results(model, atoms):
    atoms = atoms.copy()
    atoms.calc = GauntCalculator(model, device="cpu", dtype="float64")
    atoms.get_potential_energy()
    return atoms.calc.results


def test_mean_and_spread_equal_the_members_one_by_one():
    ms = members(3)
    committee = Committee(ms, std_scale=1.7)
    atoms = periodic_box(n=6)
    each = [results(m, atoms) for m in ms]
    got = results(committee, atoms)
    energies = np.array([r["energy"] for r in each])
    forces = np.array([r["forces"] for r in each])  # [K, N, 3]
    stress = np.array([r["stress"] for r in each])  # [K, 6]
    assert got["energy"] == pytest.approx(energies.mean(), abs=1e-10)
    np.testing.assert_allclose(got["forces"], forces.mean(0), atol=1e-10)
    np.testing.assert_allclose(got["stress"], stress.mean(0), atol=1e-12)
    assert got["energy_std"] == pytest.approx(1.7 * energies.std(ddof=1), rel=1e-8)
    spread = np.sqrt(((forces - forces.mean(0)) ** 2).sum((0, 2)) / 2)  # the force vector's sample spread
    np.testing.assert_allclose(got["forces_std"], 1.7 * spread, rtol=1e-8)
    np.testing.assert_allclose(got["stress_std"], 1.7 * stress.std(0, ddof=1), rtol=1e-8, atol=1e-14)
    assert got["forces_std"].shape == (6,) and (got["forces_std"] > 0).all()


def test_the_committee_file_round_trips_and_is_refused_as_one_model(tmp_path):
    committee = Committee(members(2), std_scale=0.5)
    committee.save(tmp_path / "c.pt")
    loaded = Committee.load(tmp_path / "c.pt")
    assert loaded.std_scale == 0.5
    atoms = molecule("CH3OH")
    a, b = results(committee, atoms), results(str(tmp_path / "c.pt"), atoms)
    np.testing.assert_allclose(a["forces"], b["forces"], atol=1e-12)
    np.testing.assert_allclose(a["forces_std"], b["forces_std"], atol=1e-12)
    with pytest.raises(ValueError, match="is a committee of 2 models"):
        GauntForceField.load(tmp_path / "c.pt")
    with pytest.raises(ValueError, match="differs from member 0 in r_max .3.5 vs 4.0.: members must share"):
        Committee([small_model(), small_model(r_max=4.0)])
    with pytest.raises(ValueError, match="at least 2"):
        Committee([small_model()])


@pytest.mark.data
def test_fit_committee_calibrates_on_validation_and_eval_reports_it(tmp_path):
    frames = read(DATA / "acac" / "train_300K.xyz", ":20")
    write(tmp_path / "train.xyz", frames)
    out = tmp_path / "committee"
    tiny = ["--channels", 8, "--radial-groups", 2, "--lmax", 2, "--correlation", 2, "--r-max", 4.0]
    args = ["fit", "--train", tmp_path / "train.xyz", "--valid-fraction", 0.25, "--output", out, "--epochs", 1]
    result = run(*args, *tiny, "--committee", 2, "--bootstrap", "--e0s", DATA / "acac" / "isolated_atoms.xyz")
    assert result.exit_code == 0, result.output
    assert "[member 0] epoch 1/1" in result.output and "[member 1] epoch 1/1" in result.output
    a, b = (GauntForceField.load(out / f"member_{k}" / "model.pt") for k in range(2))
    assert not torch.allclose(a.embedding, b.embedding)  # different seeds
    metrics = json.loads((out / "metrics.json").read_text())
    committee = Committee.load(out / "committee.pt")
    assert committee.std_scale == pytest.approx(metrics["std_scale"])
    # calibrated: on the validation frames the RMS force error equals the RMS scaled std
    cfg = FitConfig.from_sources(out / "config.yaml")
    valid = load_data(cfg).valid
    calc = GauntCalculator(committee, device="cpu", dtype="float64")
    preds = []
    for f in valid:
        calc.calculate(f.atoms, ["energy", "forces"])
        preds.append({"forces": calc.results["forces"], "forces_std": calc.results["forces_std"]})
    assert calibration_scale(*errors_and_stds(valid, preds)) == pytest.approx(1.0, rel=1e-6)
    # the MD threshold: the largest per-frame force std (calibrated) among the validation frames
    assert committee.max_force_std == pytest.approx(max(p["forces_std"].max() for p in preds), rel=1e-9)
    assert metrics["max_force_std"] == pytest.approx(committee.max_force_std)
    assert metrics["valid"]["frames_above_max_force_std"] == 0
    assert metrics["valid"]["uncertainty"]["error_over_std"] == pytest.approx(1.0, rel=1e-6)
    assert (out / "uncertainty_valid.png").stat().st_size > 0
    # eval on a committee: the same validation frames give the same uncertainty numbers
    write(tmp_path / "valid.xyz", [f.atoms for f in valid])
    report = tmp_path / "eval.json"
    result = run("eval", out / "committee.pt", tmp_path / "valid.xyz", "--json", report, "--plot", tmp_path / "p.png")
    assert result.exit_code == 0, result.output
    assert "committee force std vs per-atom error" in result.output
    u = json.loads(report.read_text())["uncertainty"][str(tmp_path / "valid.xyz")]
    assert u["error_over_std"] == pytest.approx(1.0, rel=1e-6)
    assert u["spearman"] == pytest.approx(metrics["valid"]["uncertainty"]["spearman"], rel=1e-9)
    assert "0 of 5 frames above the committee's MD threshold" in result.output
    assert u["frames_above_max_force_std"] == 0 and u["max_error_flagged"] is None
    assert (tmp_path / "p_uncertainty.png").stat().st_size > 0


@pytest.mark.data
def test_bootstrap_resamples_per_member_and_keeps_the_split(tmp_path):
    frames = read(DATA / "acac" / "train_300K.xyz", ":20")
    write(tmp_path / "train.xyz", frames)
    base = dict(train=str(tmp_path / "train.xyz"), valid_fraction=0.25, bootstrap=True)
    d0, d1 = (load_data(FitConfig(**base, member=k)) for k in (0, 1))
    key = [lambda f: f.atoms.positions.tobytes()][0]
    assert [key(f) for f in d0.valid] == [key(f) for f in d1.valid]  # one validation split
    t0, t1 = [key(f) for f in d0.train], [key(f) for f in d1.train]
    assert len(t0) == len(t1) == 15 and t0 != t1
    assert len(set(t0)) < 15  # drawn with replacement
    again = [key(f) for f in load_data(FitConfig(**base, member=0)).train]
    assert again == t0


def _md(tmp_path, model_file, name, *extra):
    atoms = molecule("CH3OH")
    atoms.center(vacuum=3.0)
    write(tmp_path / "start.xyz", atoms)
    args = ["md", tmp_path / "start.xyz", "--model", model_file, "--ensemble", "nve", "--steps", 12]
    return run(*args, "--log-every", 1, "--traj-every", 1, "--output", tmp_path / name, *extra)


def _rows(path):
    return list(csv.DictReader(path.open()))


def test_gated_md_writes_exactly_the_frames_above_the_threshold(tmp_path):
    Committee(members(3), std_scale=1.0).save(tmp_path / "c.pt")
    result = _md(tmp_path, tmp_path / "c.pt", "free")
    assert result.exit_code == 0, result.output
    spreads = {int(r["step"]): float(r["max_force_std_eVA"]) for r in _rows(tmp_path / "free.csv")}
    threshold = float(np.median(list(spreads.values())))
    result = _md(tmp_path, tmp_path / "c.pt", "gated", "--max-force-std", threshold)
    assert result.exit_code == 0, result.output
    flagged = read(tmp_path / "gated_uncertain.extxyz", ":")
    assert [f.info["step"] for f in flagged] == [s for s, v in spreads.items() if v > threshold]
    for f in flagged:
        assert f.info["max_force_std"] == pytest.approx(spreads[f.info["step"]], rel=1e-9)
    first = min(s for s, v in spreads.items() if v > threshold)
    result = _md(tmp_path, tmp_path / "c.pt", "stopped", "--max-force-std", threshold, "--stop-on-uncertain")
    assert result.exit_code == 1
    assert f"step {first}: the largest force std" in result.output and "for labelling" in result.output
    assert [f.info["step"] for f in read(tmp_path / "stopped_uncertain.extxyz", ":")] == [first]
    assert read(tmp_path / "stopped.extxyz", -1).info["step"] == first
    # auto: the threshold the committee file records
    Committee(members(3), std_scale=1.0, max_force_std=threshold).save(tmp_path / "c_auto.pt")
    result = _md(tmp_path, tmp_path / "c_auto.pt", "auto", "--max-force-std", "auto")
    assert result.exit_code == 0, result.output
    assert [f.info["step"] for f in read(tmp_path / "auto_uncertain.extxyz", ":")] == [f.info["step"] for f in flagged]
    result = _md(tmp_path, tmp_path / "c.pt", "none", "--max-force-std", "auto")
    assert result.exit_code == 1 and "records no threshold" in result.output
    assert not (tmp_path / "none.extxyz").exists()


def test_gating_needs_a_committee(tmp_path):
    small_model().save(tmp_path / "one.pt")
    result = _md(tmp_path, tmp_path / "one.pt", "one", "--max-force-std", 0.1)
    assert result.exit_code == 1 and "needs a committee" in result.output
    assert not (tmp_path / "one.extxyz").exists()
    result = _md(tmp_path, tmp_path / "one.pt", "one", "--max-force-std", "auto")
    assert result.exit_code == 1 and "needs a committee" in result.output
    result = _md(tmp_path, tmp_path / "one.pt", "one", "--max-force-std", "lots")
    assert result.exit_code == 2 and "neither a number nor auto" in result.output
    result = _md(tmp_path, tmp_path / "one.pt", "one", "--stop-on-uncertain")
    assert result.exit_code == 1 and "needs --max-force-std" in result.output
