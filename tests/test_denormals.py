"""Denormal numbers: negligible weights zeroed at load, flushed arithmetic in fits and calculators."""

import pytest
import torch
from ase.io import read, write

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.config import FitConfig
from gaunt_md.model import NEGLIGIBLE
from gaunt_md.runtime import flush_denormals
from gaunt_md.train.fit import setup
from helpers import DATA, small_model

pytestmark = pytest.mark.data  # reads ../shared/data


def test_loading_zeroes_negligible_weights_and_keeps_the_rest(tmp_path):
    model = small_model()
    weight = model.layers[1].linear_a.weight
    with torch.no_grad():
        weight.view(-1)[:3] = torch.tensor([1e-35, -0.5 * NEGLIGIBLE, 2 * NEGLIGIBLE], dtype=weight.dtype)
    model.save(tmp_path / "m.pt")
    loaded = GauntForceField.load(tmp_path / "m.pt")
    new = loaded.layers[1].linear_a.weight.view(-1)
    assert new[:2].tolist() == [0.0, 0.0] and new[2].item() == 2 * NEGLIGIBLE
    for (name, a), b in zip(model.named_parameters(), loaded.parameters()):
        changed = a.detach() != b.detach()
        assert changed.sum() == (2 if name == "layers.1.linear_a.weight" else 0)


def flushes(make) -> bool:
    """Whether float32 arithmetic flushes denormals to zero after ``make()``, with the flush off before."""
    try:
        torch.set_flush_denormal(False)  # an earlier fit in this process may have turned it on
        denormal = torch.tensor([1e-39], dtype=torch.float32)  # made after: with it on, it would be 0
        assert (denormal * 1.0).item() != 0.0  # a denormal survives by default
        make()
        return (denormal * 1.0).item() == 0.0
    finally:
        torch.set_flush_denormal(False)


def test_fits_and_cpu_calculators_flush_denormals(tmp_path):
    if not flushes(flush_denormals):
        pytest.skip("this CPU cannot flush denormals")
    assert flushes(lambda: GauntCalculator(small_model(), device="cpu"))
    write(tmp_path / "train.xyz", read(DATA / "acac" / "train_300K.xyz", ":4"))
    tiny = {"channels": 4, "radial_groups": 2, "lmax": 1, "hidden_lmax": 1, "correlation": 2, "radial_hidden": 4}
    cfg = FitConfig(train=str(tmp_path / "train.xyz"), output=str(tmp_path / "fit"), epochs=1, model=tiny)
    assert flushes(lambda: setup(cfg, resume=False, force=False))  # the fit's set-up, before any epoch
