"""Training on stress: the stress key's conventions, masking, config_type weights and repeats, stress metrics."""

import csv
import json

import numpy as np
import pytest
import torch
from ase import units
from ase.io import read, write
from torch_geometric.data import Batch

from gaunt_md import GauntCalculator
from gaunt_md.data import read_frames
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.metrics import loss_terms
from helpers import DATA, fit_files, run

pytestmark = pytest.mark.data  # reads ../shared/data

TINY = ["--channels", "8", "--radial-groups", "2", "--lmax", "1", "--correlation", "2", "--r-max", "3.5"]
TINY += ["--batch-size", "3", "--lr", "0.02", "--dtype", "float64", "--e0s", "average"]


@pytest.fixture(scope="module")
def si_files(tmp_path_factory):
    """Eight small Si cells of mlearn (12-24 atoms, surface slabs) with stress as REF_stress (Voigt), of
    which three have no stress; config_type "Surface" or, for three of them, "Strained"."""
    folder = tmp_path_factory.mktemp("si")
    frames = [a for a in read(DATA / "mlearn" / "Si" / "train.xyz", ":") if len(a) <= 24][:8]
    assert len(frames) == 8
    for i, atoms in enumerate(frames):
        atoms.info["REF_energy"] = atoms.get_potential_energy()
        atoms.arrays["REF_forces"] = atoms.get_forces()
        if i % 3:
            atoms.info["REF_stress"] = atoms.get_stress()
        atoms.info["config_type"] = "Strained" if i < 3 else "Surface"
        atoms.calc = None
    write(folder / "train.xyz", frames[:6])
    write(folder / "valid.xyz", frames[6:])
    return folder


def fit_args(files, out, *extra):
    keys = ["--energy-key", "REF_energy", "--forces-key", "REF_forces", "--stress-key", "REF_stress"]
    return [*fit_files(files, out), *keys, *TINY, *extra]


def test_voigt_and_full_stress_read_and_weigh_the_same(tmp_path):
    atoms = read(DATA / "mlearn" / "Si" / "train.xyz", 0)
    voigt, full = atoms.copy(), atoms.copy()
    voigt.info["REF_stress"] = atoms.get_stress()
    full.info["REF_stress"] = atoms.get_stress(voigt=False)
    for a in (voigt, full):
        a.info["REF_energy"], a.arrays["REF_forces"] = atoms.get_potential_energy(), atoms.get_forces()
    write(tmp_path / "both.xyz", [voigt, full])
    a, b = read_frames(tmp_path / "both.xyz", "REF_energy", "REF_forces", "REF_stress")
    np.testing.assert_array_equal(a.stress, b.stress)
    np.testing.assert_allclose(a.stress, atoms.get_stress(voigt=False), rtol=0, atol=1e-15)
    assert abs(a.stress[0, 1]) > 1e-6  # a shear component, so the Voigt order matters
    batches = [Batch.from_data_list([labelled_graph(f, 3.5, {14: 0}, torch.float64)]) for f in (a, b)]
    out = {"energy": torch.zeros(1, dtype=torch.float64), "forces": torch.zeros(len(atoms), 3, dtype=torch.float64)}
    out["stress"] = torch.full((1, 3, 3), 0.01, dtype=torch.float64)
    losses = [loss_terms(out, batch) for batch in batches]
    assert losses[0]["stress"] == losses[1]["stress"] > 0


def test_frames_without_stress_are_masked_and_weights_scale_each_structure(si_files):
    frames = read_frames(si_files / "train.xyz", "REF_energy", "REF_forces", "REF_stress")
    assert [f.stress is None for f in frames] == [True, False, False, True, False, False]
    graphs = [labelled_graph(f, 3.5, {14: 0}, torch.float64, weight) for f, weight in zip(frames[:3], (0.5, 2.0, 0.0))]
    batch = Batch.from_data_list(graphs)
    rng = torch.Generator().manual_seed(0)
    out = {
        "energy": batch.energy + torch.randn(3, generator=rng, dtype=torch.float64),
        "forces": batch.forces + torch.randn(batch.forces.shape, generator=rng, dtype=torch.float64),
        "stress": batch.stress + torch.randn(3, 3, 3, generator=rng, dtype=torch.float64),
    }
    terms = loss_terms(out, batch)
    w, n = torch.tensor([0.5, 2.0, 0.0], dtype=torch.float64), torch.tensor([len(f.atoms) for f in frames[:3]])
    e = (out["energy"] - batch.energy) / n
    assert float(terms["energy"]) == pytest.approx(float((w * e**2).mean()), rel=1e-12)
    per_atom = ((out["forces"] - batch.forces) ** 2).sum(1)
    assert float(terms["forces"]) == pytest.approx(float((w[batch.batch] * per_atom).sum() / per_atom.numel() / 3))
    # only frames 1 and 2 have stress (frame 0's zeros are not a label), and frame 2 weighs 0
    s = (((out["stress"][1:] - batch.stress[1:]) / units.GPa) ** 2).reshape(2, 9).mean(1)  # GPa²
    assert float(terms["stress"]) == pytest.approx(float((w[1:] * s).mean()), rel=1e-12)


def test_a_stress_fit_reports_stress_and_its_model_stress_is_the_strain_derivative(si_files, tmp_path):
    out = tmp_path / "run"
    result = run(*fit_args(si_files, out, "--epochs", 2, "--config-type-weights", "{Strained: 0.5}"))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert len(rows) == 2 and float(rows[-1]["stress_rmse"]) > 0  # GPa, over the validation frame with stress
    last = [line for line in result.output.splitlines() if line.startswith("epoch 2/2")][0]
    assert f"S {float(rows[-1]['stress_rmse']):.3f}/{float(rows[-1]['stress_mae']):.3f} GPa (RMSE/MAE)" in last
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["units"]["stress_rmse"] == "GPa"
    atoms = read(si_files / "valid.xyz", 1)
    atoms.calc = GauntCalculator(str(out / "model.pt"), device="cpu", dtype="float64")
    stress = atoms.get_stress(voigt=False)
    assert np.abs(stress).max() > 1e-5
    numerical = atoms.calc.calculate_numerical_stress(atoms, d=1e-5, voigt=False)
    np.testing.assert_allclose(stress, numerical, rtol=0, atol=1e-7)

    result = run(
        "eval",
        out / "model.pt",
        si_files / "valid.xyz",
        "--stress-key",
        "REF_stress",
        "--energy-key",
        "REF_energy",
        "--forces-key",
        "REF_forces",
        "--json",
        tmp_path / "e.json",
        "--plot",
        tmp_path / "p.png",
    )
    assert result.exit_code == 0, result.output
    table = json.loads((tmp_path / "e.json").read_text())["files"][str(si_files / "valid.xyz")]
    frames = read_frames(si_files / "valid.xyz", "REF_energy", "REF_forces", "REF_stress")
    errors = []
    for frame in frames:
        if frame.stress is not None:
            a = frame.atoms.copy()
            a.calc = atoms.calc
            errors.append((a.get_stress(voigt=False) - frame.stress).ravel() / units.GPa)
    assert table["all"]["stress_mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-9)
    assert table["all"]["stress_rmse"] == pytest.approx(metrics["valid"]["stress_rmse"], rel=1e-9)  # fit's own metric
    assert "stress rmse (GPa)" in result.output and (tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--config-type-weights", "{Strainde: 0.5}"], "config_type_weights names 'Strainde', not a config_type"),
        (["--config-type-weights", "{Strained: -1}"], "config_type_weights must be numbers ≥ 0"),
        (["--config-type-weights", "Strained"], "is not a mapping"),
        (["--config-type-repeats", "{Strainde: 2}"], "config_type_repeats names 'Strainde', not a config_type"),
        (["--config-type-repeats", "{Strained: 0}"], "config_type_repeats integers ≥ 1"),
        (["--config-type-repeats", "{Strained: 1.5}"], "config_type_repeats integers ≥ 1"),
        (["--stress-key", "virial"], "no frame of"),
    ],
)
def test_bad_stress_settings_are_refused_by_name(si_files, tmp_path, extra, message):
    result = run(*fit_args(si_files, tmp_path / "run", "--epochs", 1), *extra)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_the_selection_loss_weighs_energies_as_stage_two_does():
    from gaunt_md.config import FitConfig
    from gaunt_md.train.metrics import selection_loss

    cfg = FitConfig(train="x.xyz")
    # mlearn Si, two epochs of one fit (meV/atom, meV/Å, GPa): good forces and poor energies, and the reverse
    stage_one = {"energy_rmse": 30.23, "forces_rmse": 100.9, "stress_rmse": 0.236}
    stage_two = {"energy_rmse": 4.76, "forces_rmse": 109.7, "stress_rmse": 0.159}
    assert selection_loss(cfg, stage_two) < selection_loss(cfg, stage_one)
    expected = 1000 * 0.03023**2 + 100 * 0.1009**2 + 1.0 * 0.236**2
    assert selection_loss(cfg, stage_one) == pytest.approx(expected, rel=1e-12)


def test_config_type_repeats_repeat_the_training_frames_of_that_type_after_the_split(si_files):
    from gaunt_md.config import FitConfig
    from gaunt_md.train.data import load_data

    keys = dict(energy_key="REF_energy", forces_key="REF_forces", stress_key="REF_stress", valid_fraction=0.34)
    plain = load_data(FitConfig(train=str(si_files / "train.xyz"), **keys))
    repeated = load_data(FitConfig(train=str(si_files / "train.xyz"), config_type_repeats={"Surface": 3}, **keys))
    assert [f.config_type for f in plain.valid] == [f.config_type for f in repeated.valid]  # the same split
    assert [f.energy for f in plain.valid] == [f.energy for f in repeated.valid]
    expected = [f.energy for f in plain.train for _ in range(3 if f.config_type == "Surface" else 1)]
    assert [f.energy for f in repeated.train] == expected
    assert len(repeated.train) > len(plain.train) and {f.config_type for f in plain.train} == {"Strained", "Surface"}


def test_the_stress_offset_is_removed_from_every_stress_label(si_files, tmp_path):
    from gaunt_md.config import FitConfig
    from gaunt_md.train.data import load_data

    keys = dict(energy_key="REF_energy", forces_key="REF_forces", stress_key="REF_stress")
    files = dict(train=str(si_files / "train.xyz"), valid=str(si_files / "valid.xyz"))
    plain, shifted = (load_data(FitConfig(**files, **keys, stress_offset=o)) for o in (0.0, 2.5))
    for a, b in zip(plain.train + plain.valid, shifted.train + shifted.valid):
        assert (a.stress is None) == (b.stress is None)
        if a.stress is not None:  # 2.5 GPa (ASE sign) off the diagonal, nothing else
            np.testing.assert_allclose((a.stress - b.stress) / units.GPa, 2.5 * np.eye(3), rtol=0, atol=1e-12)
    assert sum(f.stress is not None for f in shifted.train + shifted.valid) == 5
    # eval takes the same offset: a model's stress errors against the shifted labels
    out = tmp_path / "run"
    assert run(*fit_args(si_files, out, "--epochs", 1)).exit_code == 0
    maes, biases = [], []
    for offset in (0.0, 2.5):
        args = ["eval", out / "model.pt", si_files / "valid.xyz", "--json", tmp_path / f"{offset}.json"]
        args += [f"--{k.replace('_', '-')}={v}" for k, v in keys.items()] + ["--stress-offset", offset]
        assert run(*args).exit_code == 0
        table = json.loads((tmp_path / f"{offset}.json").read_text())["files"][str(si_files / "valid.xyz")]["all"]
        maes.append(table["stress_mae"])
        biases.append(table["stress_bias"])  # GPa, prediction - label, isotropic part
    calc = GauntCalculator(str(out / "model.pt"), device="cpu", dtype="float64")
    frame = read_frames(si_files / "valid.xyz", **keys, stress_offset=2.5)[1]
    atoms = frame.atoms.copy()
    atoms.calc = calc
    assert maes[1] == pytest.approx(np.abs(atoms.get_stress(voigt=False) - frame.stress).mean() / units.GPa, rel=1e-9)
    assert maes[0] != pytest.approx(maes[1], rel=1e-3)
    assert biases[1] - biases[0] == pytest.approx(2.5, abs=1e-9)
    assert biases[0] == pytest.approx(np.trace(atoms.get_stress(voigt=False) - frame.stress) / 3 / units.GPa - 2.5)
