"""The shipped models: each registry entry is present, intact, and reproduces its card's test errors."""

import json
from pathlib import Path

import pytest

from gaunt_md import GauntCalculator
from gaunt_md.data import read_frames, validation_split
from gaunt_md.evaluation import error_table, predictions
from gaunt_md.hub import read_registry, verify
from helpers import DATA

pytestmark = pytest.mark.data  # reads ../shared/data

MODELS = Path(__file__).resolve().parents[1] / "models"
MLEARN = [f"gaunt-mlearn-{el}" for el in ("Cu", "Ge", "Li", "Mo", "Ni", "Si")]
SHIPPED = sorted(["gaunt-3bpa", "gaunt-acac", "gaunt-ethanol", "gaunt-water", "gaunt-nbmotaw", *MLEARN])
ENTRIES = {e["name"]: e for e in read_registry(MODELS / "registry.json")}


def test_the_registry_lists_every_shipped_model_and_their_files_match():
    assert sorted(ENTRIES) == SHIPPED
    assert all(status == "ok" for _, status in verify(MODELS / "registry.json"))
    for name, entry in ENTRIES.items():
        assert (MODELS / entry["file"]).stat().st_size == entry["size"] < 10_000_000
        assert (MODELS / f"{name}.md").is_file() and (MODELS / f"{name}_parity.png").is_file()


@pytest.mark.parametrize("name", SHIPPED)
def test_eval_reproduces_the_card(name):
    card = json.loads((MODELS / f"{name}.json").read_text())
    label = card["test_file"].split(" ")[0]
    config = card["training"]["config"]
    stress_key = config.get("stress_key")  # the crystal models' test errors include stress
    frames = read_frames(DATA / label, stress_key=stress_key, stress_offset=config.get("stress_offset", 0.0))
    if " (validation split" in card["test_file"]:  # rebuilt exactly as gaunt-md fit split the training file
        valid, _ = validation_split(len(frames), config["valid_fraction"], config["seed"])
        frames = [frames[i] for i in valid]
    calc = GauntCalculator(name, device="cpu", dtype="float64")
    table = error_table(frames, predictions(calc, frames))["all"]
    for key in ("energy_rmse", "forces_rmse", "forces_mae", *(("stress_mae",) if stress_key else ())):
        assert table[key] == pytest.approx(card["test_metrics"][key], rel=1e-6), key
    assert table["forces_rmse"] == pytest.approx(ENTRIES[name]["metrics"]["forces_rmse_meV_per_A"], abs=0.01)
