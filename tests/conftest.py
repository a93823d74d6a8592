import pytest
import torch
from ase.io import read, write

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


@pytest.fixture(scope="module")
def acac_files(tmp_path_factory):
    """A folder with train.xyz (20 acac frames) and valid.xyz (4), once per test module."""
    folder = tmp_path_factory.mktemp("acac")
    frames = read(DATA / "acac" / "train_300K.xyz", ":24")
    write(folder / "train.xyz", frames[:20])
    write(folder / "valid.xyz", frames[20:])
    return folder
