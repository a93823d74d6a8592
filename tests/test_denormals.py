"""Denormal numbers: negligible weights zeroed at load, flushed arithmetic in fits and calculators."""

import pytest
import torch

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.model import NEGLIGIBLE
from gaunt_md.runtime import flush_denormals
from helpers import small_model


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


def test_fits_and_cpu_calculators_flush_denormals():
    try:
        torch.set_flush_denormal(False)  # an earlier fit in this process may have turned it on
        denormal = torch.tensor([1e-39], dtype=torch.float32)  # made after: with it on, it would be 0
        assert (denormal * 1.0).item() != 0.0  # a denormal survives by default
        if not flush_denormals():
            pytest.skip("this CPU cannot flush denormals")
        assert (denormal * 1.0).item() == 0.0
        torch.set_flush_denormal(False)
        GauntCalculator(small_model(), device="cpu")
        assert (denormal * 1.0).item() == 0.0
    finally:
        torch.set_flush_denormal(False)
