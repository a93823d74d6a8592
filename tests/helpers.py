"""Helpers the tests import: where the datasets are, and small random models."""

from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def small_model(elements=("H", "C", "O"), **kwargs):
    """A random-weight float64 model small enough for finite differences in a test."""
    from gaunt_md import GauntForceField

    options = dict(
        r_max=3.5, channels=16, radial_groups=4, lmax=2, hidden_lmax=1, correlation=3, num_layers=2, scale=50.0
    )
    options.update(kwargs)
    return GauntForceField(elements=list(elements), **options).double()
