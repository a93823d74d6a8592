"""The compiled training step of a set of many sizes (gaunt_md.train.dynamic) against the eager one."""

import json

import numpy as np
import pytest
import torch
from ase.io import read, write
from click.testing import CliRunner
from torch_geometric.data import Batch

from gaunt_md.cli import main
from gaunt_md.compiled import bucket
from gaunt_md.data import Frame
from gaunt_md.train.dynamic import DynamicStep, compiled_step
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.step import CompiledStep, eager_loss_and_gradients
from helpers import DATA, periodic_box, small_model

pytestmark = pytest.mark.data  # reads ../shared/data

WEIGHTS = {"energy": 1000.0, "forces": 100.0, "stress": 1.0}


def cells(sizes, seed=0):
    """Labelled periodic cells of ``sizes`` atoms (random labels, stress included)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, n in enumerate(sizes):
        atoms = periodic_box(seed=k, n=6, size=4.0 + 0.3 * k).repeat((1 + (n > 6), 1, 1))[:n]
        frames.append(
            Frame(atoms, -100.0 * n + rng.normal(), rng.normal(size=(n, 3)), 0.01 * rng.normal(size=(3, 3)), "default")
        )
    return frames


def graphs_of(model, frames):
    return [labelled_graph(f, model.config.r_max, model.species_of, torch.float64) for f in frames]


def test_one_graph_serves_batches_of_every_size():
    """Captured once (a counting TorchDynamo backend, no compilation), the step gives the eager loss and
    gradients on batches of 7 to 24 atoms with their own edge counts."""
    model = small_model().train()
    graphs = graphs_of(model, cells([4, 3, 6, 6, 12, 12, 5, 9]))
    batches = [Batch.from_data_list(graphs[i : i + 2]) for i in range(0, len(graphs), 2)]
    captured = []

    def counting(graph_module, example_inputs):
        captured.append(graph_module)
        return graph_module.forward

    step = compiled_step(model, graphs, 2, echo=lambda *a: None, backend=counting)
    assert isinstance(step, DynamicStep)
    sizes = set()
    for batch in batches:
        expected_loss = eager_loss_and_gradients(model, batch, WEIGHTS)
        expected = [p.grad.clone() for p in model.parameters()]
        for _ in range(2):  # the first call captures and checks, the second replays
            model.zero_grad(set_to_none=True)
            assert step(batch, WEIGHTS) == pytest.approx(expected_loss, rel=1e-12)
            for p, g in zip(model.parameters(), expected):
                torch.testing.assert_close(p.grad, g, rtol=1e-9, atol=1e-12)
        sizes.add((batch.positions.shape[0], batch.edge_index.shape[1]))
    assert len({n for n, _ in sizes}) == 4 and len({e for _, e in sizes}) == 4
    assert len(captured) == 1 and list(step.calls) == [(True, torch.float64, "cpu")]
    assert step(Batch.from_data_list(graphs[:1]), WEIGHTS) is None  # a batch that is not full: eager


def test_the_step_follows_the_training_set():
    """One atom count (a molecule): a graph per shape; several: one dynamic graph whose table width fits
    the most neighbours of any training frame, and a batch beyond it trains eagerly."""
    model = small_model().train()
    molecules = graphs_of(
        model, [Frame(a, 0.0, np.zeros((15, 3)), None, "default") for a in read(DATA / "acac" / "train_300K.xyz", ":4")]
    )
    step = compiled_step(model, molecules, 2, echo=lambda *a: None)
    assert type(step) is CompiledStep
    crystal = graphs_of(model, cells([6, 12]))
    step = compiled_step(model, crystal, 2, echo=lambda *a: None, backend="eager")
    most = max(int(torch.bincount(g.edge_index[0]).max()) for g in crystal)
    assert step.width == bucket(most)
    dense = graphs_of(
        model, [Frame(periodic_box(seed=1, size=2.2), 0.0, np.zeros((6, 3)), np.zeros((3, 3)), "default")] * 2
    )
    assert int(torch.bincount(dense[0].edge_index[0]).max()) > step.width
    assert step(Batch.from_data_list(dense), WEIGHTS) is None and not step.calls


def test_fit_with_compile_on_cells_of_several_sizes_trains_as_the_eager_fit(tmp_path):
    """gaunt-md fit --compile (inductor, float64) on cells of 6 and 12 atoms with stress: one
    compilation for both sizes, and the validation errors of the eager fit."""
    write(tmp_path / "train.xyz", [_labelled_atoms(f) for f in cells([6, 12, 6, 12, 12, 6, 6, 12, 6, 12], seed=2)])
    tiny = ["--channels", 4, "--radial-groups", 2, "--lmax", 1, "--hidden-lmax", 1, "--correlation", 2]
    args = ["fit", "--train", tmp_path / "train.xyz", "--valid-fraction", 0.2, "--epochs", 2, "--dtype", "float64"]
    args += ["--radial-hidden", 4, "--r-max", 3.0, "--stress-key", "stress", *tiny]
    metrics = {}
    for name, extra in (("eager", []), ("compiled", ["--compile"])):
        result = CliRunner().invoke(main, [str(a) for a in [*args, "--output", tmp_path / name, *extra]])
        assert result.exit_code == 0, result.output
        metrics[name] = json.loads((tmp_path / name / "metrics.json").read_text())["valid"]
    assert result.output.count("compiled the training step for every atom and edge count") == 1
    for k in ("energy_rmse", "forces_rmse", "stress_rmse"):
        assert metrics["compiled"][k] == pytest.approx(metrics["eager"][k], rel=1e-6)


def _labelled_atoms(frame: Frame):
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = frame.atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=frame.energy, forces=frame.forces, stress=frame.stress)
    return atoms
