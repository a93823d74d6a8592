"""The ZBL prior stays zero on the training data: the closest approach of each pair of elements,
recorded by ``gaunt-md fit``, caps where its switch ends (hot metals come closer than 0.75 b)."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii
from ase.io import read, write
from ase.neighborlist import neighbor_list

from gaunt_md import GauntForceField
from gaunt_md.data.pairs import closest_pairs, pair_name
from gaunt_md.nn import ZBLRepulsion
from helpers import DATA, run, short_contact_cell


def test_closest_pairs_sees_periodic_images_and_names_pairs_lighter_first():
    """periodic_box's tilted cell with an O-H pair 0.6 Å apart only through the x boundary and a C-O
    pair 0.9 Å apart only through the y boundary; and a molecule, whose far atom has no pair."""
    atoms = short_contact_cell()
    molecule = Atoms("HHN", positions=[[0.0, 0.0, 0.0], [0.74, 0.0, 0.0], [9.0, 0.0, 0.0]])
    found = closest_pairs([atoms, molecule], 1.0)
    i, j, d = neighbor_list("ijd", atoms, 1.0)  # ASE's own list as the reference
    assert sorted(zip(atoms.numbers[i].tolist(), atoms.numbers[j].tolist())) == [(1, 8), (6, 8), (8, 1), (8, 6)]
    assert found.keys() == {"H-O", "C-O", "H-H"}
    assert found["H-O"] == pytest.approx(0.6, abs=1e-12) and found["C-O"] == pytest.approx(0.9, abs=1e-12)
    assert found["H-H"] == pytest.approx(0.74, abs=1e-12)
    assert pair_name(8, 1) == pair_name(1, 8) == "H-O"


def test_switch_ends_at_the_closest_pair_of_the_data_and_nowhere_else():
    """Mo-Mo's switch would end at 0.75 b = 2.31 Å; the data's 1.88 Å moves r_off 1% short of it and
    r_on with it (r_on / r_off = 2/3, as before). H-Mo, not named, and H-H, named beyond 0.75 b, keep theirs."""
    mo, h = atomic_numbers["Mo"], atomic_numbers["H"]
    b = 2 * covalent_radii[mo]
    plain = ZBLRepulsion([h, mo], r_max=5.0)
    fitted = ZBLRepulsion([h, mo], r_max=5.0, closest={"Mo-Mo": 1.88, "H-H": 2.0})
    assert plain.r_off[1, 1].item() == pytest.approx(0.75 * b)
    assert fitted.r_off[1, 1].item() == pytest.approx(0.99 * 1.88)
    assert fitted.r_on[1, 1].item() == pytest.approx(0.99 * 1.88 * 2 / 3)
    assert torch.equal(fitted.r_off[0], plain.r_off[0]) and torch.equal(fitted.r_on[0], plain.r_on[0])
    r = torch.tensor([1.0, 1.5, 1.8, 1.862, 2.0, 2.3], dtype=torch.float64)
    species = torch.ones(6, dtype=torch.long)
    before, after = plain.pair_energy(species, species, r), fitted.pair_energy(species, species, r)
    assert torch.all(before > 0)  # the unlimited switch reaches 2.3 Å
    assert torch.all(after[:3] > 0) and torch.equal(after[3:], torch.zeros(3, dtype=torch.float64))
    assert after[0] == before[0]  # below both r_on: plain ZBL
    either_order = ZBLRepulsion([h, mo], r_max=5.0, closest={"Mo-H": 1.0})  # H-Mo, named heavier first
    assert either_order.r_off[0, 1].item() == either_order.r_off[1, 0].item() == pytest.approx(0.99)
    assert either_order.r_off[1, 1] == plain.r_off[1, 1] and either_order.r_off[0, 0] == plain.r_off[0, 0]
    with pytest.raises(ValueError, match="'Mo-Xx' is not a pair of element symbols"):
        ZBLRepulsion([h, mo], r_max=5.0, closest={"Mo-Xx": 1.0})


@pytest.mark.data
def test_fit_records_the_datas_closest_pairs_and_the_prior_changes_nothing_on_hot_metal(tmp_path):
    """Six mlearn Mo AIMD frames whose closest pairs lie inside 0.75 b: the fit records their closest
    approach (training and validation frames), and with it a fit with the prior is the fit without it,
    number for number, as on molecular data (test_pair_repulsion.py)."""
    frames = [a for a in read(DATA / "mlearn" / "Mo" / "train.xyz", ":") if a.info["config_type"] == "AIMD-NVT"]
    shortest = [float(neighbor_list("d", a, 3.0).min()) for a in frames]
    chosen = [frames[k] for k in np.argsort(shortest)[:6]]
    write(tmp_path / "train.xyz", chosen)
    assert min(shortest) < 0.75 * 2 * covalent_radii[atomic_numbers["Mo"]] - 0.3  # deep inside the old switch
    logs = {}
    for name, extra in (("default", []), ("none", ["--pair-repulsion", "none"])):
        args = ["fit", "--train", tmp_path / "train.xyz", "--valid-fraction", 0.34, "--e0s", "average"]
        args += ["--output", tmp_path / name, "--epochs", 2, "--channels", 8, "--radial-groups", 2, "--lmax", 2]
        args += ["--hidden-lmax", 1, "--correlation", 2, "--r-max", 4.0, "--stress-key", "stress", *extra]
        result = run(*args)
        assert result.exit_code == 0, result.output
        logs[name] = [row.split(",")[:9] for row in (tmp_path / name / "log.csv").read_text().splitlines()]
    model = GauntForceField.load(tmp_path / "default" / "model.pt")
    assert model.config.pair_repulsion == "zbl"
    assert model.config.closest_pairs == {"Mo-Mo": pytest.approx(min(shortest), abs=1e-9)}
    assert model.pair_repulsion.r_off[0, 0].item() == pytest.approx(0.99 * min(shortest), abs=1e-9)
    assert logs["default"] == logs["none"]  # losses and validation errors identical to the last digit
