"""The calculator's contract with ASE and its errors for bad input."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.calculator import PropertyNotImplementedError
from ase.io import write
from ase.neighborlist import neighbor_list as ase_neighbor_list

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import atoms_to_graph
from helpers import small_model


def calc():
    return GauntCalculator(small_model(), device="cpu", dtype="float64")


def test_unknown_element_is_named():
    atoms = molecule("CH3CH2OH")
    atoms[0].symbol = "N"
    atoms.calc = calc()
    with pytest.raises(ValueError, match="element\\(s\\) N not supported by this model, which knows H, C, O"):
        atoms.get_potential_energy()


def test_nan_positions():
    atoms = molecule("H2O")
    atoms.positions[1, 0] = np.nan
    atoms.calc = calc()
    with pytest.raises(ValueError, match="positions of atoms \\[1\\] are NaN or infinite"):
        atoms.get_potential_energy()


def test_periodic_without_cell():
    atoms = molecule("H2O")
    atoms.pbc = True
    atoms.calc = calc()
    with pytest.raises(ValueError, match="cell vector 0 is zero"):
        atoms.get_potential_energy()


def test_stress_needs_periodicity():
    atoms = molecule("H2O")
    atoms.calc = calc()
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_files_that_are_not_models(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="is not a gaunt-md model file"):
        GauntCalculator(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="is not a gaunt-md model file"):
        GauntForceField.load(other)
    model = small_model()
    path = tmp_path / "model.pt"
    model.save(path)
    blob = torch.load(path, weights_only=True)
    blob["format_version"] = 99
    torch.save(blob, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="format version 99"):
        GauntForceField.load(tmp_path / "future.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        GauntForceField.load(tmp_path / "missing.pt")


def test_bad_options():
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        GauntCalculator(small_model(), dtype="float16")
    with pytest.raises(ValueError, match="unknown element symbol 'Xx'"):
        GauntForceField(elements=["H", "Xx"])
    with pytest.raises(ValueError, match="multiple of radial_groups"):
        GauntForceField(elements=["H"], channels=10, radial_groups=4)


def test_elements_accept_numbers_and_symbols():
    assert GauntForceField(elements=[8, "H", 1], channels=8, radial_groups=2).elements == ["H", "O"]


def test_pymatgen_structures_are_accepted():
    from pymatgen.core import Lattice, Molecule, Structure

    c = calc()
    structure = Structure(Lattice.cubic(4.2), ["O", "H"], [[0, 0, 0], [0.2, 0.1, 0.15]])
    c.calculate(structure, ["energy", "forces", "stress"])
    assert c.results["forces"].shape == (2, 3) and c.results["stress"].shape == (6,)
    mol = Molecule(["O", "H", "H"], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    c.calculate(mol, ["energy"])
    assert np.isfinite(c.results["energy"])


def edges(i, j, vectors):
    """Sorted (center, neighbour, rounded vector) triples: equal lists mean equal neighbour lists."""
    return sorted(zip(np.asarray(i).tolist(), np.asarray(j).tolist(), np.round(np.asarray(vectors), 8).tolist()))


def our_edges(g):
    vectors = g.positions[g.edge_index[1]] - g.positions[g.edge_index[0]] + g.shifts
    return edges(g.edge_index[0], g.edge_index[1], vectors.numpy())


@pytest.mark.parametrize(
    "atoms",
    [
        molecule("CH3CH2OH"),
        bulk("Cu", "fcc", a=3.6),  # non-orthogonal cell much smaller than the cutoff
        bulk("Si", "diamond", a=5.43, orthorhombic=True),
    ],
)
def test_neighbour_lists_match_ase(atoms):
    g = atoms_to_graph(atoms, 3.5, {z: z for z in set(atoms.numbers)})
    assert g.edge_index.shape[1] > 0
    assert our_edges(g) == edges(*ase_neighbor_list("ijD", atoms, 3.5))


def test_mixed_boundary_conditions_match_ase():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    atoms.pbc = [True, True, False]
    atoms.center(vacuum=5.0, axis=2)
    g = atoms_to_graph(atoms, 3.0, {29: 0})
    assert g.edge_index.shape[1] > 0
    assert our_edges(g) == edges(*ase_neighbor_list("ijD", atoms, 3.0))


@pytest.mark.parametrize("command", ["calculator", "cli"])
def test_threads_sets_torchs_thread_count(command, tmp_path):
    from click.testing import CliRunner

    from gaunt_md.cli import main

    before = torch.get_num_threads()
    try:
        if command == "calculator":
            GauntCalculator(small_model(channels=8, radial_groups=2), threads=1)
        else:
            small_model(channels=8, radial_groups=2).save(tmp_path / "m.pt")
            write(tmp_path / "h2.xyz", Atoms("H2", positions=[[0, 0, 0], [0.74, 0, 0]]))
            result = CliRunner().invoke(
                main,
                [
                    "relax",
                    str(tmp_path / "h2.xyz"),
                    "--model",
                    str(tmp_path / "m.pt"),
                    "--threads",
                    "1",
                    "--steps",
                    "1",
                    "--output",
                    str(tmp_path / "r"),
                ],
            )
            assert "Traceback" not in result.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads must be a whole number"):
        GauntCalculator(small_model(channels=8, radial_groups=2), threads=0)


def test_allocator_settings_apply_unless_switched_off(monkeypatch):
    """gaunt_md.allocator keeps large blocks in glibc's heap; GAUNT_MD_DEFAULT_MALLOC=1 leaves the allocator alone."""
    from gaunt_md.allocator import tune_cpu_allocator

    apply = tune_cpu_allocator.__wrapped__  # past the once-per-process cache
    monkeypatch.setenv("GAUNT_MD_DEFAULT_MALLOC", "1")
    assert apply() is False
    monkeypatch.delenv("GAUNT_MD_DEFAULT_MALLOC")
    assert apply() is True  # Linux with glibc, as in CI
