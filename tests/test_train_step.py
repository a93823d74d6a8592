"""The traced, compiled training step (gaunt_md.train.step) against the eager one."""

import csv
import json

import numpy as np
import pytest
import torch
from ase.io import read, write
from click.testing import CliRunner
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch_geometric.data import Batch

from gaunt_md.cli import main
from gaunt_md.data import Frame
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.step import SIGHTINGS, CompiledStep, eager_loss_and_gradients, update_ema
from gaunt_md.train.validation import CompiledValidation
from helpers import DATA, periodic_box, small_model

pytestmark = pytest.mark.data  # reads ../shared/data

WEIGHTS = {"energy": 1000.0, "forces": 100.0, "stress": 1.0}


def batches_of(model, frames, size=2):
    graphs = [labelled_graph(f, model.config.r_max, model.species_of, torch.float64) for f in frames]
    return [Batch.from_data_list(graphs[i : i + size]) for i in range(0, len(graphs), size)]


def labelled(atoms, rng, with_stress=True):
    """``atoms`` with random energy, forces and (for a periodic cell) stress labels."""
    n = len(atoms)
    stress = 0.01 * rng.normal(size=(3, 3)) if with_stress else None
    return Frame(atoms, -100.0 * n + rng.normal(), rng.normal(size=(n, 3)), stress, "default")


def eager_gradients(model, batch):
    loss = eager_loss_and_gradients(model, batch, WEIGHTS)
    return loss, [p.grad.clone() for p in model.parameters()]


def test_traced_step_gives_the_eager_loss_and_gradients_for_every_batch_of_its_shape():
    """backend="eager": the padded, traced step without compilation. acac batches with other edge
    counts reuse the first batch's trace; periodic cells with stress labels get their own key."""
    rng = np.random.default_rng(0)
    model = small_model(scale=0.7, shift=0.1).train()
    molecules = [labelled(a, rng, with_stress=False) for a in read(DATA / "acac" / "train_300K.xyz", ":6")]
    cells = [labelled(periodic_box(seed=s), rng) for s in range(4)]
    step = CompiledStep(model, batch_size=2, echo=lambda *a: None, backend="eager")
    for batch in batches_of(model, molecules) + batches_of(model, cells):
        expected_loss, expected = eager_gradients(model, batch)
        for _ in range(SIGHTINGS + 1):  # a new kind's first sightings: eager (None); then it traces, then replays
            model.zero_grad(set_to_none=True)
            loss = step(batch, WEIGHTS)
            if loss is None:
                continue
            assert loss == pytest.approx(expected_loss, rel=1e-12)
            for p, g in zip(model.parameters(), expected):
                torch.testing.assert_close(p.grad, g, rtol=1e-9, atol=1e-12)
        assert loss is not None
    keys = sorted(step.calls, key=lambda k: k[3])  # key: atoms, edges, width, stress, dtype, device
    assert len(keys) == 2 and [k[3] for k in keys] == [False, True]  # one molecule key, one with stress
    edges = [b.edge_index.shape[1] for b in batches_of(model, molecules)]
    assert len(set(edges)) > 1 and all(e <= keys[0][1] for e in edges)
    assert step(batches_of(model, molecules[:3])[1], WEIGHTS) is None  # a batch that is not full: eager


def test_fit_with_compile_trains_as_the_eager_fit(tmp_path):
    """gaunt-md fit --compile (inductor, float64) follows the eager fit: the same validation errors
    after 2 epochs, in every epoch's log (the compiled validation pass) and at the end, and the log
    says it compiled."""
    write(tmp_path / "train.xyz", read(DATA / "acac" / "train_300K.xyz", ":12"))
    tiny = ["--channels", 4, "--radial-groups", 2, "--lmax", 1, "--hidden-lmax", 1, "--correlation", 2]
    args = ["fit", "--train", tmp_path / "train.xyz", "--valid-fraction", 0.25, "--epochs", 2, "--dtype", "float64"]
    args += ["--e0s", DATA / "acac" / "isolated_atoms.xyz", "--radial-hidden", 4, *tiny]
    metrics = {}
    for name, extra in (("eager", []), ("compiled", ["--compile"])):
        result = CliRunner().invoke(main, [str(a) for a in [*args, "--output", tmp_path / name, *extra]])
        assert result.exit_code == 0, result.output
        metrics[name] = json.loads((tmp_path / name / "metrics.json").read_text())["valid"]
    assert "compiled the training step for 30 atoms" in result.output
    assert "compiled the validation pass for 30 atoms" in result.output
    for k in ("energy_rmse", "forces_rmse"):
        assert metrics["compiled"][k] == pytest.approx(metrics["eager"][k], rel=1e-6)
    logs = {name: list(csv.DictReader((tmp_path / name / "log.csv").read_text().splitlines())) for name in metrics}
    assert len(logs["compiled"]) == len(logs["eager"]) == 2
    for compiled, eager in zip(logs["compiled"], logs["eager"]):
        for k in ("valid_loss", "energy_rmse", "forces_rmse"):
            assert float(compiled[k]) == pytest.approx(float(eager[k]), rel=1e-6)


def test_a_failed_compilation_trains_eagerly(monkeypatch):
    rng = np.random.default_rng(1)
    model = small_model().train()
    batch = batches_of(model, [labelled(a, rng, False) for a in read(DATA / "acac" / "train_300K.xyz", ":2")])[0]
    expected_loss, expected = eager_gradients(model, batch)

    def broken(*args):
        raise RuntimeError("no C++ compiler")

    step = CompiledStep(model, batch_size=2, echo=lambda *a: None)
    monkeypatch.setattr(step, "_compile", broken)
    assert all(step(batch, WEIGHTS) is None for _ in range(SIGHTINGS - 1))  # not yet frequent: eager
    with pytest.warns(UserWarning, match="compiling the training step failed .*no C\\+\\+ compiler"):
        assert step(batch, WEIGHTS) == pytest.approx(expected_loss, rel=1e-12)
    for p, g in zip(model.parameters(), expected):  # the eager step's gradients
        torch.testing.assert_close(p.grad, g, rtol=1e-12, atol=0)
    assert list(step.calls.values()) == [None] and step(batch, WEIGHTS) is None  # later batches: eager


def test_rare_shapes_stay_eager_and_frequent_ones_compile_at_their_largest_sizes():
    """Of a set of many sizes only the atom counts that recur compile (backend="eager": traced only),
    each at the largest edge count and width its uncompiled batches have had."""
    rng = np.random.default_rng(3)
    model = small_model().train()
    molecules = batches_of(model, [labelled(a, rng, False) for a in read(DATA / "acac" / "train_300K.xyz", ":4")])
    cells = batches_of(model, [labelled(periodic_box(seed=s), rng) for s in range(2)])[0]
    step = CompiledStep(model, batch_size=2, echo=lambda *a: None, backend="eager")
    assert step(molecules[0], WEIGHTS) is None and step(molecules[1], WEIGHTS) is not None  # 2 of 2 batches: compiled
    ((atoms, edges, width, *_),) = step.calls
    sizes = [(b.edge_index.shape[1], int(torch.bincount(b.edge_index[0]).max())) for b in molecules]
    assert atoms == 30 and edges >= max(e for e, _ in sizes) and width >= max(w for _, w in sizes)
    for _ in range(20):
        step(molecules[0], WEIGHTS)
    assert step(cells, WEIGHTS) is None and step(cells, WEIGHTS) is None  # 2 of 24 batches: rare, eager
    assert len(step.calls) == 1
    while step(cells, WEIGHTS) is None:  # recurring: once in 10% of the batches, it compiles
        assert step.batches < 40
    assert step.seen[(len(periodic_box(seed=0)) * 2, True, torch.float64, "cpu")] == 3 and len(step.calls) == 2


def test_compiled_validation_follows_the_weights_it_is_given():
    """The traced validation pass (backend="eager": padded and traced, not compiled) gives the eager
    model's energies and forces on the most common kind of batch, also after the weights change (they
    are inputs of the graph, not constants); the other batches run the eager model."""
    rng = np.random.default_rng(2)
    model = small_model(scale=0.7, shift=0.1).eval()
    molecules = [labelled(a, rng, with_stress=False) for a in read(DATA / "acac" / "train_300K.xyz", ":6")]
    batches = batches_of(model, molecules) + batches_of(model, [labelled(periodic_box(seed=0), rng)])
    compiled = CompiledValidation(model, batches, echo=lambda *a: None, backend="eager")
    assert compiled.members == {0, 1, 2} and compiled.key[0] == 30
    for _ in range(2):  # before and after an optimiser step
        for i, batch in enumerate(batches):
            out, expected = compiled(model, i), model(batch, compute_forces=True, compute_stress=i == 3)
            assert sorted(out) == (["energy", "forces"] if i < 3 else sorted(expected))
            for k in ("energy", "forces"):
                torch.testing.assert_close(out[k], expected[k], rtol=1e-10, atol=1e-12)
        with torch.no_grad():  # an optimiser step
            for p in model.parameters():
                p.add_(0.01 * torch.randn_like(p))
    assert callable(compiled.call)


def test_ema_update_is_torchs():
    """update_ema (one foreach call over the parameters) gives AveragedModel's own EMA update."""
    model = small_model()
    ours, theirs = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True) for _ in range(2))
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        update_ema(ours, model, 0.9)
        theirs.update_parameters(model)
    assert int(ours.n_averaged) == int(theirs.n_averaged) == 3
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=0)
