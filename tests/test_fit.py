"""gaunt-md fit on a few acac frames: learning, schedules, exact resume, bad input and settings."""

import importlib
import json
import re

import numpy as np
import pytest
import torch
from ase.io import read, write

from gaunt_md import GauntCalculator
from gaunt_md.data import read_frames
from helpers import fit_args, log, run

pytestmark = pytest.mark.data  # reads ../shared/data


def test_fit_lowers_the_loss_and_writes_its_results(acac_files, tmp_path, monkeypatch):
    tuned = []  # fit keeps its temporaries in the heap (gaunt_md.allocator), as the calculator does
    monkeypatch.setattr(importlib.import_module("gaunt_md.train.fit"), "tune_cpu_allocator", lambda: tuned.append(True))
    out = tmp_path / "run"
    result = run(*fit_args(acac_files, out, 6), "--test", acac_files / "valid.xyz")
    assert result.exit_code == 0, result.output
    assert tuned == [True]
    rows = log(out)
    assert len(rows) == 6
    first = float(rows[0]["train_loss"])
    assert min(float(r["train_loss"]) for r in rows[-3:]) < 0.6 * first  # without learning it stays near first
    assert float(rows[-1]["energy_rmse"]) < 0.9 * float(rows[0]["energy_rmse"])
    assert float(rows[0]["lr"]) == 0.05 and float(rows[-1]["lr"]) <= 0.001  # stage two (last 20%) lowers the lr
    for name in (
        "model.pt",
        "config.yaml",
        "learning_curve.png",
        "metrics.json",
        "checkpoints/best.pt",
        "checkpoints/latest.pt",
    ):
        assert (out / name).is_file(), name
    assert "epoch 6/6" in result.output and "meV/Å" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"units", "valid", "test"} and metrics["test"]["forces_rmse"] > 0
    assert metrics["units"]["forces_rmse"] == "meV/Å" and metrics["units"]["energy_rmse"] == "meV/atom"
    assert "test: E RMSE" in result.output


def test_the_saved_model_has_its_energy_shift_refitted_on_the_training_frames(acac_files, tmp_path):
    out = tmp_path / "run"
    result = run(*fit_args(acac_files, out, 2))
    assert result.exit_code == 0, result.output
    frames = read_frames(acac_files / "train.xyz")
    median_error, forces = {}, {}
    for name in ("checkpoints/best.pt", "model.pt"):
        calc = GauntCalculator(str(out / name), device="cpu", dtype="float64")
        errors = []
        for frame in frames:
            atoms = frame.atoms.copy()
            atoms.calc = calc
            errors.append((atoms.get_potential_energy() - frame.energy) / len(atoms))
            forces.setdefault(name, []).append(atoms.get_forces())
        median_error[name] = np.median(errors)
    assert abs(median_error["model.pt"]) < 1e-9  # eV/atom: the refitted shift removes the median error
    assert abs(median_error["checkpoints/best.pt"]) > 1e-4  # after 2 epochs the fitted energies are off by a constant
    assert f"{-1e3 * median_error['checkpoints/best.pt']:+.3f} meV/atom" in result.output
    np.testing.assert_allclose(
        np.array(forces["model.pt"]), np.array(forces["checkpoints/best.pt"]), rtol=0, atol=1e-12
    )


def test_cosine_schedule_follows_the_epochs(acac_files, tmp_path):
    """lr(p) = lr (0.01 + 0.99 (1 + cos pi p) / 2) at the start of each epoch, p = epoch / epochs;
    stage two (from p = 0.8) caps it at stage_two_lr."""
    import math

    out = tmp_path / "run"
    result = run(*fit_args(acac_files, out, 5), "--lr-schedule", "cosine", "--stage-two-lr", "0.004")
    assert result.exit_code == 0, result.output
    expected = [0.05 * (0.01 + 0.99 * (1 + math.cos(math.pi * e / 5)) / 2) for e in range(5)]
    expected[4] = min(expected[4], 0.004)
    assert [float(r["lr"]) for r in log(out)] == pytest.approx(expected, rel=1e-12)
    assert expected[3] > 0.004  # the cap matters only in stage two


def test_patience_counts_only_stage_two_epochs(acac_files, tmp_path):
    """With patience 1 a run stops at its first stage-two epoch without a better validation loss, but
    not in stage one, whose learning rate is still to fall."""
    out = tmp_path / "stage-one"  # a learning rate far too high: validation gets worse, but stage two never starts
    result = run(*fit_args(acac_files, out, 5), "--lr", "5", "--patience", "1", "--stage-two-fraction", "0.99")
    assert result.exit_code == 0, result.output
    losses = [float(r["valid_loss"]) for r in log(out)]
    assert len(losses) == 5 and "stopping early" not in result.output
    assert any(loss >= min(losses[:i]) for i, loss in enumerate(losses) if i)  # epochs without improvement
    out = tmp_path / "stage-two"  # from epoch 3 (progress 0.4) a learning rate too small to move a weight
    result = run(
        *fit_args(acac_files, out, 5),
        *("--patience", "1", "--stage-two-fraction", "0.4", "--stage-two-lr", "1e-30", "--ema-decay", "0"),
    )
    assert result.exit_code == 0, result.output
    losses = [float(r["valid_loss"]) for r in log(out)]
    assert len(losses) == 3 and losses[2] == losses[1]
    assert "stopping early: no improvement for 1 epochs of stage two" in result.output


def test_resume_continues_exactly(acac_files, tmp_path):
    # plateau: the cosine schedule follows the number of epochs, which this resume changes (2 -> 3)
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run(*fit_args(acac_files, straight, 3), "--lr-schedule", "plateau").exit_code == 0
    assert run(*fit_args(acac_files, split, 2), "--lr-schedule", "plateau").exit_code == 0
    resumed = run("fit", "--output", split, "--epochs", 3, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.output and "updated config.yaml: epochs 2 -> 3" in resumed.output
    a, b = log(straight), log(split)
    assert [r["epoch"] for r in b] == ["1", "2", "3"]
    assert float(b[-1]["train_loss"]) == pytest.approx(float(a[-1]["train_loss"]), rel=1e-9)
    assert float(b[-1]["forces_rmse"]) == pytest.approx(float(a[-1]["forces_rmse"]), rel=1e-9)


def test_a_run_killed_mid_epoch_resumes_after_its_last_finished_epoch(acac_files, tmp_path):
    """SIGKILL at an arbitrary moment loses at most the epoch in progress, and the log stays one row per epoch."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gaunt_md.cli", *map(str, fit_args(acac_files, out, 200)), "--batch-size", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "log.csv").is_file() and len(log(out)) >= 2:
                break
            time.sleep(0.02)
        time.sleep(0.3)  # into the next epoch
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    logged = len(log(out))
    finished = torch.load(out / "checkpoints" / "latest.pt", weights_only=False)["epoch"] + 1
    assert 2 <= logged < 200 and finished in (
        logged - 1,
        logged,
    )  # the kill can fall between the log row and the checkpoint
    if logged == finished:  # make that case happen: a row for the epoch in progress, without its checkpoint
        with (out / "log.csv").open("a") as fh:
            fh.write(f"{finished + 1},1,1,1,1,1,1,0.05,1\n")
    resumed = run("fit", "--output", out, "--epochs", finished + 2, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming {out} after epoch {finished}" in resumed.output
    assert [int(r["epoch"]) for r in log(out)] == list(range(1, finished + 3))
    assert (out / "model.pt").is_file()


def test_time_budget_stops_training_and_survives_resume(acac_files, tmp_path):
    out = tmp_path / "run"
    result = run(*fit_args(acac_files, out, 50), "--max-minutes", 0.001)
    assert result.exit_code == 0, result.output
    assert "time budget of 0.001 min is spent" in result.output and len(log(out)) == 1
    state = torch.load(out / "checkpoints" / "latest.pt", weights_only=False)
    assert state["elapsed"] > 0.06  # seconds spent so far travel with the checkpoint
    resumed = run("fit", "--output", out, "--resume", "--max-minutes", 0.001)
    assert resumed.exit_code == 0 and len(log(out)) == 2  # one more epoch, then the budget stops it again


def test_refuses_to_overwrite_results(acac_files, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    result = run(*fit_args(acac_files, out, 1))
    assert result.exit_code != 0 and "use --resume to continue or --force" in result.output
    assert (out / "precious.txt").read_text() == "mine"


def test_bad_input_gives_one_line_errors(acac_files, tmp_path):
    cases = [
        (["fit", "--train", tmp_path / "missing.xyz", "--output", tmp_path / "a"], "does not exist"),
        (
            ["fit", "--train", acac_files / "train.xyz", "--energy-key", "REF_energy", "--output", tmp_path / "b"],
            "frame 0 of",
        ),
        (
            ["fit", "--train", acac_files / "train.xyz", "--config", tmp_path / "bad.yaml", "--output", tmp_path / "c"],
            "unknown config key(s): chanels",
        ),
    ]
    (tmp_path / "bad.yaml").write_text("chanels: 8\n")
    for args, message in cases:
        result = run(*args)
        assert result.exit_code != 0, args
        assert message in result.output, (message, result.output)
        assert "Traceback" not in result.output
    nan = read(acac_files / "train.xyz", ":3")
    nan[1].calc.results["forces"][0, 0] = np.nan
    write(tmp_path / "nan.xyz", nan)
    result = run("fit", "--train", tmp_path / "nan.xyz", "--output", tmp_path / "d")
    assert result.exit_code != 0 and "frame 1" in result.output and "NaN" in result.output
    nitrogen = read(acac_files / "valid.xyz", ":2")
    nitrogen[0][0].symbol = "N"
    write(tmp_path / "n.xyz", nitrogen)
    result = run(
        *fit_args(acac_files, tmp_path / "e", 1)[:3], "--valid", tmp_path / "n.xyz", "--output", tmp_path / "e"
    )
    assert result.exit_code != 0 and "element(s) N not in the training data" in result.output
    assert not (tmp_path / "a").exists()


def test_missing_key_error_lists_the_keys(acac_files):
    with pytest.raises(ValueError, match="keys it has: .*energy.*forces"):
        read_frames(acac_files / "train.xyz", energy_key="REF_energy")


def test_a_checkpoint_of_an_older_model_format_is_refused_by_name(acac_files, tmp_path):
    """A run checkpointed by gaunt-md 0.1 (no format version in latest.pt) cannot resume: a one-line
    error that says why, and the run's files stay as they were."""
    import torch

    out = tmp_path / "run"
    assert run(*fit_args(acac_files, out, 1)).exit_code == 0
    latest = out / "checkpoints" / "latest.pt"
    state = torch.load(latest, weights_only=False)
    del state["format_version"]
    torch.save(state, latest)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = run("fit", "--output", out, "--epochs", 2, "--resume")
    assert again.exit_code == 1 and "written by gaunt-md 0.1 (model format 1-2)" in again.output
    assert "cannot be resumed: start a new fit" in again.output and "Traceback" not in again.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_resume_says_when_nothing_is_left_to_train(acac_files, tmp_path):
    out = tmp_path / "run"
    assert run(*fit_args(acac_files, out, 1)).exit_code == 0
    model = (out / "model.pt").read_bytes()
    again = run("fit", "--output", out, "--resume")
    assert again.exit_code == 1 and "already trained 1 epochs; give --epochs larger" in again.output
    assert (out / "model.pt").read_bytes() == model


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--epochs", 0], "epochs, batch_size and patience must be ≥ 1"),
        (["--channels", 0], "channels, num_layers"),
        (["--channels", 9], "multiple of radial_groups"),
        (["--dtype", "float16"], "unknown dtype"),
        (["--lr", -1], "lr and max_minutes must be > 0"),
        (["--lr-schedule", "linear"], "unknown lr_schedule 'linear'"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(acac_files, tmp_path, bad, message):
    out = tmp_path / "run"
    out.mkdir()
    (out / "earlier.txt").write_text("an earlier run")
    result = run(*fit_args(acac_files, out, 2), *bad, "--force")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == ["earlier.txt"]
    assert not (tmp_path / "fresh").exists() and run(*fit_args(acac_files, tmp_path / "fresh", 2), *bad).exit_code == 1
    assert not (tmp_path / "fresh").exists()


def test_every_setting_is_in_the_printed_template_and_reads_back(tmp_path):
    from gaunt_md.config import FitConfig, ModelConfig

    result = run("fit", "--print-config")
    assert result.exit_code == 0
    (tmp_path / "c.yaml").write_text(result.output.replace("train: null", "train: data.xyz"))
    cfg = FitConfig.from_sources(tmp_path / "c.yaml")
    assert cfg == FitConfig(train="data.xyz")
    assert "  channels: 128  # feature channels per degree" in result.output
    assert set(cfg.model) == set(ModelConfig().options()) and cfg.model["num_basis"] == 8
    help_text = run("fit", "--help").output
    for flag in (
        "--epochs",
        "--r-max",
        "--num-basis",
        "--radial-hidden",
        "--threads",
        "--energy-weight",
        "--stage-two-lr",
    ):
        assert flag in help_text
    assert "[default: 100]" in help_text and "(Å)" in help_text


def test_a_flat_model_option_from_an_older_config_goes_into_the_model_block(tmp_path):
    from gaunt_md.config import FitConfig

    (tmp_path / "old.yaml").write_text("train: data.xyz\nchannels: 16\nr_max: 4.0\n")
    cfg = FitConfig.from_sources(tmp_path / "old.yaml", lmax=2)
    assert (cfg.model["channels"], cfg.model["r_max"], cfg.model["lmax"]) == (16, 4.0, 2)
    with pytest.raises(ValueError, match="unknown model option"):
        FitConfig(train="x", model={"chanels": 3})


def test_yaml_numbers_in_exponent_form_are_numbers_and_wrong_types_are_named(tmp_path):
    from gaunt_md.config import FitConfig

    # PyYAML (YAML 1.1) reads 1e-3 and 5e-7 as text; a fit must still get numbers
    (tmp_path / "exp.yaml").write_text("train: data.xyz\nlr: 1e-3\nweight_decay: 5e-7\nmodel:\n  r_max: 4e0\n")
    cfg = FitConfig.from_sources(tmp_path / "exp.yaml")
    assert (cfg.lr, cfg.weight_decay, cfg.model["r_max"]) == (1e-3, 5e-7, 4.0)
    for values, message in (
        ({"lr": "fast"}, "lr must be a float, got 'fast'"),
        ({"epochs": 2.5}, "epochs must be an int, got 2.5"),
        ({"compile": "yes"}, "compile must be a bool, got 'yes'"),
        ({"model": {"channels": "many"}}, "channels must be an int, got 'many'"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            FitConfig(train="x", **values)
