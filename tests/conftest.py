import pytest
import torch

from helpers import DATA


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"data: reads the datasets in {DATA} (skipped, with this reason, when they are missing)"
    )


def pytest_runtest_setup(item):
    if item.get_closest_marker("data") and not DATA.is_dir():
        pytest.skip(f"needs the datasets in {DATA}: check out gaunt-md beside the shared/ folder that holds data/")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
