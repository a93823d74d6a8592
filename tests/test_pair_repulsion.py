"""The ZBL pair prior: its formula, its switch, exact derivatives in the model, files, and the wall it
puts between two atoms of a trained model."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii
from ase.io import read
from ase.neighborlist import neighbor_list

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.nn import ZBLRepulsion
from helpers import DATA, energy_forces, format_1_copy, run, short_contact_cell, small_model

pytestmark = pytest.mark.data  # reads ../shared/data

PAIRS = [("H", "H"), ("C", "H"), ("C", "C"), ("C", "O"), ("O", "O")]


def zbl_numpy(z1, z2, r):
    """Unswitched ZBL energy (eV) of atomic numbers z1, z2 at distances r (Å), written out from
    Ziegler, Biersack and Littmark (1985) with k_e = e²/(4πε0) = 14.39964535195 eV·Å (E_h a_0 in the
    CODATA 2014 constants ASE uses)."""
    a = 0.46850 / (z1**0.23 + z2**0.23)
    x = np.asarray(r) / a
    phi = (
        0.18175 * np.exp(-3.19980 * x)
        + 0.50986 * np.exp(-0.94229 * x)
        + 0.28022 * np.exp(-0.40290 * x)
        + 0.02817 * np.exp(-0.20162 * x)
    )
    return 14.39964535195 * z1 * z2 / np.asarray(r) * phi


def bond(a, b):
    """Covalent radius sum b (Å); the prior switches off between 0.5 b and 0.75 b."""
    return covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]]


def prior_of(elements, a, b, r):
    """The module's switched pair energy (eV) of elements a, b at distances r (Å), in float64."""
    zs = [atomic_numbers[e] for e in elements]
    module = ZBLRepulsion(zs, r_max=5.0)
    r = torch.as_tensor(r, dtype=torch.float64)
    si, sj = (torch.full(r.shape, zs.index(atomic_numbers[e])) for e in (a, b))
    return module.pair_energy(si, sj, r)


def test_energy_equals_the_formula_and_hand_values():
    """Below r_on = 0.5 b the prior is plain ZBL. By hand: H-H at 0.31 Å, a = 0.4685/2 = 0.23425 Å,
    x = 1.32337, φ = 0.00263 + 0.14652 + 0.16441 + 0.02157 = 0.33514, E = 14.3996 · 0.33514 / 0.31
    = 15.567 eV; C-C at 0.76 Å, a = 0.4685/(2 · 6^0.23) = 0.155133 Å, x = 4.8990,
    φ = 0.00000 + 0.00504 + 0.03893 + 0.01049 = 0.05446, E = 14.3996 · 36 · 0.05446 / 0.76 = 37.15 eV."""
    assert float(prior_of(["H"], "H", "H", [0.31])[0]) == pytest.approx(15.567, abs=2e-3)
    assert float(prior_of(["C"], "C", "C", [0.76])[0]) == pytest.approx(37.15, abs=1e-2)
    for a, b in PAIRS:
        r = np.linspace(0.2, 0.5, 7) * bond(a, b)  # all below r_on
        expected = zbl_numpy(atomic_numbers[a], atomic_numbers[b], r)
        np.testing.assert_allclose(prior_of(["H", "C", "O"], a, b, r).numpy(), expected, rtol=1e-11)
        np.testing.assert_allclose(prior_of(["H", "C", "O"], b, a, r).numpy(), expected, rtol=1e-11)


def test_switch_is_one_then_zero_and_twice_continuously_differentiable():
    for a, b in PAIRS:
        r_off = 0.75 * bond(a, b)
        r_on = 0.5 * bond(a, b)
        za, zb = atomic_numbers[a], atomic_numbers[b]
        inside, between = np.array([0.9, 0.99]) * r_on, r_on + np.array([0.2, 0.5, 0.8]) * (r_off - r_on)
        outside = np.array([1.001, 1.5, 3.0]) * r_off
        np.testing.assert_allclose(
            prior_of(["H", "C", "O"], a, b, inside).numpy(), zbl_numpy(za, zb, inside), rtol=1e-11
        )
        switch = prior_of(["H", "C", "O"], a, b, between).numpy() / zbl_numpy(za, zb, between)
        assert np.all((switch > 0.01) & (switch < 0.99)) and np.all(np.diff(switch) < 0)
        assert torch.equal(prior_of(["H", "C", "O"], a, b, outside), torch.zeros(3, dtype=torch.float64))

        def switch_derivatives(
            r, h=1e-6
        ):  # s = E / unswitched ZBL, its slope and curvature, in units of w = r_off - r_on
            x = np.array([r - h, r, r + h])
            s = prior_of(["H", "C", "O"], a, b, x).numpy() / zbl_numpy(za, zb, x)
            w = r_off - r_on
            return np.array([s[1], (s[2] - s[0]) / (2 * h) * w, (s[2] - 2 * s[1] + s[0]) / h**2 * w**2])

        for edge in (r_on, r_off):
            jump = switch_derivatives(edge + 1e-5) - switch_derivatives(edge - 1e-5)
            assert np.all(np.abs(jump) < 1e-2), (a, b, edge, jump)  # a kink in s, s' or s'' would jump by O(1)


def test_switch_ends_at_the_cutoff_for_pairs_wider_than_it():
    """Cs-Cs has a covalent radius sum of 4.88 Å: with r_max = 3 Å the switch ends at 3 Å, where the
    pair leaves the graph, instead of jumping there."""
    module = ZBLRepulsion([1, 55], r_max=3.0)
    torch.testing.assert_close(module.r_off, torch.tensor([[0.465, 2.0625], [2.0625, 3.0]], dtype=torch.float64))
    torch.testing.assert_close(module.r_on, torch.tensor([[0.31, 1.375], [1.375, 2.0]], dtype=torch.float64))


def compressed_molecule():
    """C, O and three H with contacts between 0.45 b and 0.9 b: the prior's whole switch region."""
    return Atoms(
        "COHHH", positions=[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [-0.5, 0.6, 0.0], [0.3, -0.45, 0.2], [1.3, 0.4, 0.3]]
    )


def pair_sum_ase(atoms, elements=("H", "C", "O")):
    """Σ over pairs, periodic images included, of the module's switched energy, from ASE's own
    neighbour list: half of every directed pair."""
    i, j, d = neighbor_list("ijd", atoms, 3.0)
    z = atoms.numbers
    total = 0.0
    for a, b, r in zip(z[i], z[j], d):
        sa, sb = (next(s for s in elements if atomic_numbers[s] == x) for x in (a, b))
        total += 0.5 * float(prior_of(list(elements), sa, sb, [r])[0])
    return total


@pytest.mark.parametrize("structure", [compressed_molecule, short_contact_cell])
def test_prior_adds_its_pair_sum_and_nothing_else(structure):
    """Same seed, same weights: the models differ by exactly the pair sum, and the prior saves no state."""
    atoms = structure()
    plain = small_model(pair_repulsion=None)
    torch.manual_seed(0)
    with_prior = small_model(pair_repulsion="zbl")
    assert plain.pair_repulsion is None and plain.config.pair_repulsion is None
    assert plain.state_dict().keys() == with_prior.state_dict().keys()
    assert all(torch.equal(v, with_prior.state_dict()[k]) for k, v in plain.state_dict().items())
    expected = pair_sum_ase(atoms)
    assert expected > 5.0  # the contacts are inside the switch region
    assert energy_forces(with_prior, atoms)[0] - energy_forces(plain, atoms)[0] == pytest.approx(expected, rel=1e-10)


def test_forces_with_the_prior_equal_finite_differences():
    atoms = compressed_molecule()
    model = small_model(pair_repulsion="zbl")
    e, f = energy_forces(model, atoms)
    torch.manual_seed(0)
    assert (
        np.abs(f - energy_forces(small_model(pair_repulsion=None), atoms)[1]).max() > 10.0
    )  # eV/Å: the prior dominates
    h = 1e-5  # the wall is steep: the central difference's h² error must stay below the tolerance
    for atom in range(len(atoms)):
        for axis in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[atom, axis] += h
            minus.positions[atom, axis] -= h
            fd = -(energy_forces(model, plus)[0] - energy_forces(model, minus)[0]) / (2 * h)
            assert abs(fd - f[atom, axis]) < 1e-6 * max(1.0, abs(f[atom, axis])), (atom, axis, fd, f[atom, axis])


def test_stress_with_the_prior_equals_strain_derivative():
    atoms = short_contact_cell()
    atoms.calc = GauntCalculator(small_model(pair_repulsion="zbl"), device="cpu", dtype="float64")
    stress = atoms.get_stress(voigt=False)
    torch.manual_seed(0)
    plain = atoms.copy()
    plain.calc = GauntCalculator(small_model(pair_repulsion=None), device="cpu", dtype="float64")
    assert np.abs(stress - plain.get_stress(voigt=False)).max() > 0.1  # eV/Å^3, from the contacts across the boundary
    numerical = atoms.calc.calculate_numerical_stress(atoms, d=1e-6, voigt=False)
    np.testing.assert_allclose(stress, numerical, rtol=0, atol=1e-6 * np.abs(stress).max())


def test_float32_agrees_with_float64():
    model = small_model(pair_repulsion="zbl")
    e64, f64 = energy_forces(model, compressed_molecule(), "float64")
    e32, f32 = energy_forces(model, compressed_molecule(), "float32")
    assert abs(e32 - e64) / abs(e64) < 1e-5
    assert np.abs(f32 - f64).max() / np.abs(f64).max() < 1e-5


def test_unknown_prior_is_refused():
    with pytest.raises(ValueError, match="pair_repulsion must be none or zbl, got 'lj'"):
        small_model(pair_repulsion="lj")


def test_save_and_load_keep_the_prior_and_old_files_load_without_it(tmp_path):
    model = small_model(pair_repulsion="zbl")
    model.save(tmp_path / "m.pt")
    loaded = GauntForceField.load(tmp_path / "m.pt")
    assert loaded.config == model.config and isinstance(loaded.pair_repulsion, ZBLRepulsion)
    atoms = compressed_molecule()
    assert energy_forces(loaded, atoms)[0] == energy_forces(model, atoms)[0]

    old = format_1_copy(tmp_path / "v1.pt", prior=False)  # a format-1 file, written before the prior existed
    assert "pair_repulsion" not in torch.load(old, weights_only=True)["config"]
    loaded_old = GauntForceField.load(old)
    assert loaded_old.config.pair_repulsion is None and loaded_old.pair_repulsion is None


@pytest.fixture(scope="module")
def trained_with_prior(tmp_path_factory):
    """A small model fitted with ``gaunt-md fit --pair-repulsion zbl``: 6 epochs on 32 ethanol frames."""
    from ase.io import write

    folder = tmp_path_factory.mktemp("zbl")
    write(folder / "train.xyz", read(DATA / "ethanol" / "train.xyz", ":32"))
    args = [
        "fit",
        "--train",
        folder / "train.xyz",
        "--valid-fraction",
        0.125,
        "--e0s",
        DATA / "ethanol" / "isolated_atoms.xyz",
        "--output",
        folder / "run",
        "--epochs",
        6,
        "--pair-repulsion",
        "zbl",
        "--r-max",
        4.0,
        "--channels",
        8,
        "--radial-groups",
        2,
        "--lmax",
        2,
        "--hidden-lmax",
        1,
        "--correlation",
        2,
        "--batch-size",
        4,
        "--lr",
        0.01,
        "--ema-decay",
        0.5,
    ]
    result = run(*args)
    assert result.exit_code == 0, result.output
    rows = (folder / "run" / "log.csv").read_text().splitlines()[1:]
    losses = [float(row.split(",")[1]) for row in rows]
    assert min(losses) < 0.6 * losses[0]  # it learned
    model = GauntForceField.load(folder / "run" / "model.pt")
    assert model.config.pair_repulsion == "zbl"
    return model


@pytest.mark.parametrize("a,b", PAIRS)
def test_trained_model_with_the_prior_walls_off_every_dimer(trained_with_prior, a, b):
    """The issue's target: an isolated dimer's energy rises monotonically as r falls from 0.75 b, where
    the prior starts (b the covalent radius sum; the closest pairs of the training data are at 0.8 b),
    to 0.4 b, and E(0.5 b) - E(b) ≥ 2 eV. Above 0.75 b the curve is the network's alone."""
    calc = GauntCalculator(trained_with_prior, device="cpu", dtype="float64")
    b_ = bond(a, b)

    def energy(r):
        dimer = Atoms(a + b, positions=[[0.0, 0.0, 0.0], [r, 0.0, 0.0]])
        dimer.calc = calc
        return dimer.get_potential_energy()

    fractions = np.linspace(0.4, 0.75, 15)
    energies = np.array([energy(x * b_) for x in fractions])
    assert np.all(np.diff(energies) < 0), energies
    rise = energy(0.5 * b_) - energy(b_)
    print(f"{a}-{b}: E(0.5 b) - E(b) = {rise:.2f} eV")
    assert rise >= 2.0


def test_the_prior_is_the_default_and_changes_no_fit_on_molecular_data(tmp_path):
    """``gaunt-md fit`` adds the prior by default. It is zero beyond 0.75 b and the closest pairs of the
    molecular data sets are at 0.80 b (acac at 600 K) or more, so a fit with it is the fit without it,
    number for number, and the model only gains the wall."""
    from ase.io import write

    write(tmp_path / "train.xyz", read(DATA / "acac" / "train_600K.xyz", ":16"))
    logs = {}
    for name, extra in (("default", []), ("none", ["--pair-repulsion", "none"])):
        args = [
            "fit",
            "--train",
            tmp_path / "train.xyz",
            "--valid-fraction",
            0.25,
            "--output",
            tmp_path / name,
            "--epochs",
            2,
            "--channels",
            8,
            "--radial-groups",
            2,
            "--lmax",
            2,
            "--correlation",
            2,
            "--r-max",
            4.0,
            *extra,
        ]
        result = run(*args)
        assert result.exit_code == 0, result.output
        logs[name] = [row.split(",")[:7] for row in (tmp_path / name / "log.csv").read_text().splitlines()]
    assert GauntForceField.load(tmp_path / "default" / "model.pt").config.pair_repulsion == "zbl"
    assert GauntForceField.load(tmp_path / "none" / "model.pt").config.pair_repulsion is None
    assert logs["default"] == logs["none"]  # losses and validation errors identical to the last digit
