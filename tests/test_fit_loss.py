"""The fit's loss penalty: squared errors, or Huber (``--loss huber --huber-delta``)."""

import csv

import numpy as np
import pytest
import torch
from ase import units
from ase.io import read, write
from torch_geometric.data import Batch

from gaunt_md.config import FitConfig
from gaunt_md.data import Frame
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.metrics import ErrorAccumulator, loss_terms, penalty, selection_loss
from gaunt_md.train.step import SIGHTINGS, CompiledStep, eager_loss_and_gradients
from helpers import DATA, periodic_box, run, small_model

WEIGHTS = {"energy": 1000.0, "forces": 100.0, "stress": 1.0}


def test_the_huber_penalty_is_squared_below_delta_and_linear_beyond():
    error = torch.linspace(-0.3, 0.3, 601, dtype=torch.float64)
    huber = penalty(error, 0.1)
    torch.testing.assert_close(huber, 2 * torch.nn.functional.huber_loss(error, 0 * error, reduction="none", delta=0.1))
    small = error.abs() <= 0.1
    torch.testing.assert_close(huber[small], error[small] ** 2, rtol=0, atol=0)
    torch.testing.assert_close(huber[~small], 0.2 * error[~small].abs() - 0.01, rtol=1e-12, atol=1e-15)
    assert float(huber[-1]) == pytest.approx(0.05) and float(penalty(error, None)[-1]) == pytest.approx(0.09)


def labelled_batch(rng):
    """Two periodic cells of 6 atoms with random labels, the second weighing 2 and the only one with
    stress, and predictions off by errors from below to far beyond 0.1 (eV/atom, eV/Å, GPa)."""
    stresses = (None, 0.01 * rng.normal(size=(3, 3)))
    frames = [
        Frame(periodic_box(seed=s), -30.0 + rng.normal(), rng.normal(size=(6, 3)), stresses[s], "x") for s in (0, 1)
    ]
    graphs = [labelled_graph(f, 3.5, {1: 0, 6: 1, 8: 2}, torch.float64, w) for f, w in zip(frames, (1.0, 2.0))]
    batch = Batch.from_data_list(graphs)
    out = {
        "energy": batch.energy + torch.tensor([0.3, -3.0], dtype=torch.float64),  # 0.05 and 0.5 eV/atom
        "forces": batch.forces + torch.tensor(rng.normal(scale=0.2, size=(12, 3))),
        "stress": batch.stress + torch.tensor(rng.normal(scale=0.5 * units.GPa, size=(2, 3, 3))),
    }
    return out, batch


def test_huber_loss_terms_weigh_each_structure_and_mask_stress():
    out, batch = labelled_batch(np.random.default_rng(0))
    assert set(batch.species.tolist()) == {0, 1, 2} and batch.has_stress.tolist() == [False, True]
    w = torch.tensor([1.0, 2.0], dtype=torch.float64)
    terms = loss_terms(out, batch, 0.1)
    energy = penalty((out["energy"] - batch.energy) / 6, 0.1)
    assert float(terms["energy"]) == pytest.approx(float((w * energy).mean()), rel=1e-12)
    forces = penalty(out["forces"] - batch.forces, 0.1)
    assert float(terms["forces"]) == pytest.approx(float((w[batch.batch, None] * forces).mean()), rel=1e-12)
    stress = penalty((out["stress"][1] - batch.stress[1]) / units.GPa, 0.1)  # only the second has a label
    assert float(terms["stress"]) == pytest.approx(2 * float(stress.mean()), rel=1e-12)
    squared, wide = loss_terms(out, batch), loss_terms(out, batch, 100.0)  # delta beyond every error: squared
    for k in ("energy", "forces", "stress"):
        assert float(terms[k]) < float(squared[k]) and float(wide[k]) == pytest.approx(float(squared[k]), rel=1e-12)


def test_selection_loss_of_a_huber_fit_weighs_the_validation_huber_penalties():
    out, batch = labelled_batch(np.random.default_rng(1))
    acc = ErrorAccumulator()
    acc.add(out, batch)
    metrics = acc.summary(huber_delta=0.1)
    per_atom = (out["energy"] - batch.energy) / 6
    assert metrics["energy_huber"] == pytest.approx(float(penalty(per_atom, 0.1).mean()), rel=1e-12)
    assert metrics["forces_huber"] == pytest.approx(float(penalty(out["forces"] - batch.forces, 0.1).mean()), rel=1e-12)
    assert metrics["stress_huber"] == pytest.approx(
        float(penalty((out["stress"][1] - batch.stress[1]) / units.GPa, 0.1).mean()), rel=1e-12
    )
    cfg = FitConfig(train="x.xyz", loss="huber", huber_delta=0.1)
    expected = 1000 * metrics["energy_huber"] + 100 * metrics["forces_huber"] + metrics["stress_huber"]
    assert selection_loss(cfg, metrics) == pytest.approx(expected, rel=1e-12)
    squared = FitConfig(train="x.xyz")  # the RMSEs, as before
    assert selection_loss(squared, metrics) == pytest.approx(
        1000 * (metrics["energy_rmse"] / 1e3) ** 2
        + 100 * (metrics["forces_rmse"] / 1e3) ** 2
        + metrics["stress_rmse"] ** 2,
        rel=1e-12,
    )


@pytest.mark.data
def test_the_traced_step_gives_the_eager_huber_gradients():
    rng = np.random.default_rng(2)
    model = small_model(scale=0.7, shift=0.1).train()
    frames = [
        Frame(a, -100.0 * len(a) + rng.normal(), rng.normal(size=(len(a), 3)), None, "x")
        for a in read(DATA / "acac" / "train_300K.xyz", ":2")
    ]
    batch = Batch.from_data_list(
        [labelled_graph(f, model.config.r_max, model.species_of, torch.float64) for f in frames]
    )
    gradients = {}
    for delta in (None, 0.5):
        eager_loss_and_gradients(model, batch, WEIGHTS, delta)
        gradients[delta] = [p.grad.clone() for p in model.parameters()]
    assert max((a - b).abs().max().item() for a, b in zip(gradients[None], gradients[0.5])) > 1e-3
    step = CompiledStep(model, batch_size=2, echo=lambda *a: None, backend="eager", delta=0.5)
    for _ in range(SIGHTINGS + 1):  # eager until the kind is frequent, then traces, then replays
        model.zero_grad(set_to_none=True)
        loss = step(batch, WEIGHTS)
        if loss is None:
            continue
        for p, g in zip(model.parameters(), gradients[0.5]):
            torch.testing.assert_close(p.grad, g, rtol=1e-9, atol=1e-12)
    assert (
        loss is not None and len(step.calls) == 1 and None not in step.calls.values()
    )  # the second step replayed the trace


@pytest.mark.data
def test_a_huber_fit_logs_and_selects_by_its_penalties(tmp_path):
    write(tmp_path / "train.xyz", read(DATA / "acac" / "train_300K.xyz", ":8"))
    args = ["fit", "--train", tmp_path / "train.xyz", "--valid-fraction", 0.25, "--epochs", 2, "--dtype", "float64"]
    args += ["--channels", 4, "--radial-groups", 2, "--lmax", 1, "--hidden-lmax", 1, "--correlation", 2]
    args += ["--radial-hidden", 4, "--e0s", "average", "--output", tmp_path / "run"]
    result = run(*args, "--loss", "huber", "--huber-delta", 0.05)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    for row in rows:
        expected = 1000 * float(row["energy_huber"]) + 100 * float(row["forces_huber"])
        assert float(row["valid_loss"]) == pytest.approx(expected, rel=1e-9)
        assert float(row["forces_huber"]) < (float(row["forces_rmse"]) / 1e3) ** 2  # errors beyond 0.05 eV/Å
    refused = run(*args[:-1], tmp_path / "bad", "--loss", "l1")
    assert refused.exit_code != 0 and "loss must be mse or huber" in refused.output
    assert "Traceback" not in refused.output and not (tmp_path / "bad").exists()
