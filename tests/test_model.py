"""Physics of the force field: symmetries, exact derivatives, extensivity, batching, files."""

import json

import numpy as np
import pytest
import torch
from ase.io import read
from e3nn import o3

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import atoms_to_graph, batch_graphs
from gaunt_md.nn.radial import RadialMLP
from helpers import DATA, FORMAT_2, energy_forces, format_1_copy, periodic_box, small_model

pytestmark = pytest.mark.data  # reads ../shared/data


@pytest.fixture(scope="module")
def acac():
    return read(DATA / "acac" / "train_300K.xyz", 0)


def test_forces_are_nonzero_and_equal_finite_differences(acac):
    model = small_model()
    e, f = energy_forces(model, acac)
    assert np.abs(f).max() > 0.1  # a real test: the forces are O(1) eV/Å
    h = 3e-5  # central differences: error ~h² · f''' (forces here ~10 eV/Å), rounding ~1e-16 · E / h
    for atom in range(0, len(acac), 4):
        for axis in range(3):
            plus, minus = acac.copy(), acac.copy()
            plus.positions[atom, axis] += h
            minus.positions[atom, axis] -= h
            fd = -(energy_forces(model, plus)[0] - energy_forces(model, minus)[0]) / (2 * h)
            assert abs(fd - f[atom, axis]) < 1e-6, (atom, axis, fd, f[atom, axis])


# tolerance: relative to the largest force. The radial_by_input model's random forces are ~10x smaller
# (largest ~11 against ~100 eV/Å on the periodic box) while the table's absolute error is alike (~1e-6 eV/Å).
@pytest.mark.parametrize(
    "many_body, options, tolerance",
    [
        ("channel", {}, 1e-7),
        ("mixed", {}, 1e-7),
        ("channel", {"radial_by_input": True}, 1e-6),
        ("channel", {"many_body_rank": 2}, 1e-7),
        ("channel", {"lmax": 3, "hidden_lmax": 3}, 1e-7),
        ("channel", {"num_layers": 3}, 1e-7),
    ],
)
def test_inference_rewrite_keeps_the_function(acac, tmp_path, many_body, options, tolerance):
    """for_inference (radial tables; for the mixing product of formats 1-2 folded channel mixing;
    linear maps across layers multiplied out) reproduces the model it rewrites, a coarse table visibly
    does not (so the comparison sees the tables), and a rewritten model refuses to be saved."""
    model = small_model(many_body=many_body, **options)
    for atoms in (acac, periodic_box()):
        graph = batch_graphs([atoms_to_graph(atoms, model.config.r_max, model.species_of, dtype=torch.float64)])
        ref = model(graph, compute_forces=True, compute_stress=True)
        for intervals, bound in ((4096, tolerance), (32, None)):
            fast = model.for_inference(intervals)
            folded = [isinstance(layer.linear_a, torch.nn.Identity) for layer in fast.layers]
            assert folded == [many_body == "mixed"] * len(fast.layers)
            # the last layer's linear_in passes degrees ≥ 1 through (a middle layer's skip reads them all)
            hidden = model.config.hidden_lmax
            assert [layer.linear_in.mixed for layer in fast.layers] == [1] + [hidden + 1] * (len(fast.layers) - 2) + [1]
            assert isinstance(fast.readouts[-1][0], torch.nn.Identity)
            out = fast(graph, compute_forces=True, compute_stress=True)
            error = max(float((out[k] - ref[k]).detach().abs().max()) for k in ("energy", "forces", "stress"))
            if bound:
                assert error < bound * float(ref["forces"].detach().abs().max())
            else:
                assert error > 1e-5
    with pytest.raises(ValueError, match="for_inference"):
        fast.save(tmp_path / "fast.pt")
    assert not (tmp_path / "fast.pt").exists()


def _reference(name):
    ref = json.loads(FORMAT_2.with_suffix(".json").read_text())[name]  # its outputs then, in float64
    return ref["energy"], np.array(ref["forces"])


@pytest.mark.parametrize("version", [1, 2])
def test_files_of_earlier_formats_compute_what_they_did(tmp_path, version):
    """A format-2 file (and the same weights in format 1's names) written before the normalisations
    and the channel-wise product loads with its mixing product, gives the energies and forces it gave
    then, and saved again in the current format still does."""
    from gaunt_md.formats import FORMAT_VERSION

    assert torch.load(FORMAT_2, weights_only=True)["format_version"] == 2 and FORMAT_VERSION == 3
    old = format_1_copy(tmp_path / "old.pt") if version == 1 else FORMAT_2
    model = GauntForceField.load(old)
    assert model.config.many_body == "mixed"
    model.save(tmp_path / "new.pt")
    assert torch.load(tmp_path / "new.pt", weights_only=True)["format_version"] == 3
    frames = {"box": periodic_box(), "acac": read(DATA / "acac" / "test_MD_300K.xyz", 0)}  # as when written
    for name, atoms in frames.items():
        energy, forces = _reference(name)
        for loaded in (model, GauntForceField.load(tmp_path / "new.pt")):
            e, f = energy_forces(loaded, atoms)
            assert abs(e - energy) < 1e-9 * abs(energy)
            np.testing.assert_allclose(f, forces, atol=1e-9)


def test_initial_forces_have_the_scale_of_the_data(acac):
    """At initialisation (default size, scale 1) the forces have unit order: the convolution and the
    radial basis are normalised (without, they started 100x smaller: docs/accuracy.md)."""
    torch.manual_seed(0)
    model = GauntForceField(elements=["H", "C", "O"], avg_num_neighbors=12.2, pair_repulsion=None)
    rms = np.sqrt(np.mean(energy_forces(model, acac)[1] ** 2))
    assert 0.3 < rms < 5.0, rms


def test_calculator_leaves_the_callers_model_alone():
    model = small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    GauntCalculator(model, device="cpu", dtype="float32")
    assert all(p.dtype == torch.float64 and p.requires_grad for p in model.parameters())
    assert all(isinstance(layer.conv.radial, RadialMLP) for layer in model.layers)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize(
    "options", [{}, {"radial_by_input": True}, {"many_body_rank": 2}, {"lmax": 3, "hidden_lmax": 3}]
)
def test_invariance_and_equivariance(acac, options):
    model = small_model(**options)
    e, f = energy_forces(model, acac)
    for r in [o3.rand_matrix(dtype=torch.float64).numpy(), -o3.rand_matrix(dtype=torch.float64).numpy()]:
        moved = acac.copy()
        moved.positions = acac.positions @ r.T + np.array([1.0, -2.0, 0.5])
        e2, f2 = energy_forces(model, moved)
        assert e2 == pytest.approx(e, abs=1e-9)
        np.testing.assert_allclose(f2, f @ r.T, atol=1e-9)
    perm = np.random.default_rng(1).permutation(len(acac))
    e3, f3 = energy_forces(model, acac[perm])
    assert e3 == pytest.approx(e, abs=1e-9)
    np.testing.assert_allclose(f3, f[perm], atol=1e-9)


def test_radial_functions_by_input_degree_generalise_the_shared_ones(acac):
    """radial_by_input: one radial function per (input degree, filter degree, group). With every input
    degree's set equal to the shared set of the default model (and all other weights equal), the
    model is the default model; with them different, it is not."""
    shared = small_model()
    by_input = small_model(radial_by_input=True)
    state = shared.state_dict()
    for t, layer in enumerate(by_input.layers):
        last = f"layers.{t}.conv.radial.mlp.{len(layer.conv.radial.mlp) - 1}.weight"
        g, f = layer.conv.groups, layer.conv.lmax + 1
        w = state[last].view(-1, g, 1, f).expand(-1, g, layer.conv.inputs, f)  # Dense weights: [in, out]
        state[last] = w.reshape(w.shape[0], -1)
    assert by_input.layers[1].conv.inputs == 2 and by_input.layers[0].conv.inputs == 1  # hidden_lmax 1
    by_input.load_state_dict(state)
    e, f = energy_forces(shared, acac)
    e2, f2 = energy_forces(by_input, acac)
    assert e2 == pytest.approx(e, abs=1e-10) and np.allclose(f2, f, atol=1e-10)
    with torch.no_grad():
        weight = by_input.layers[1].conv.radial.mlp[-1].weight
        weight.view(weight.shape[0], shared.config.radial_groups, 2, -1)[:, :, 0].mul_(1.5)  # input degree 0's set
    e3, f3 = energy_forces(by_input, acac)
    assert abs(e3 - e) > 1e-4 and np.abs(f3 - f).max() > 1e-3


def test_many_body_products_of_higher_rank_generalise_rank_one(acac):
    """many_body_rank R: R products per channel side by side, mixed per output degree by linear_out.
    With the extra products' mixing weights zero (all other weights equal), the model is the rank-1
    model; with them non-zero, it is not."""
    one, two = small_model(), small_model(many_body_rank=2)
    state = one.state_dict()
    for t in range(len(two.layers)):
        w = state[f"layers.{t}.product.weights"]
        state[f"layers.{t}.product.weights"] = torch.cat([w, 2 * w + 0.3], dim=-1)  # [E, ν, l, 2 C]
        mix = state[f"layers.{t}.linear_out.weight"]  # [l, C, C] → [l, 2 C, C]
        state[f"layers.{t}.linear_out.weight"] = torch.cat([mix, torch.zeros_like(mix)], dim=1)
    two.load_state_dict(state)
    for layer in two.layers:  # the normalisation 1/sqrt(fan_in) sees 2 C inputs: give rank 1's back
        layer.linear_out.norm = one.layers[0].linear_out.norm
    e, f = energy_forces(one, acac)
    e2, f2 = energy_forces(two, acac)
    assert e2 == pytest.approx(e, abs=1e-10) and np.allclose(f2, f, atol=1e-10)
    with torch.no_grad():
        two.layers[0].linear_out.weight[:, one.config.channels :].normal_()
    e3, f3 = energy_forces(two, acac)
    assert abs(e3 - e) > 1e-4 and np.abs(f3 - f).max() > 1e-3


def test_periodic_rotation_and_translation():
    model = small_model()
    atoms = periodic_box()
    e, f = energy_forces(model, atoms)
    r = o3.rand_matrix(dtype=torch.float64).numpy()
    moved = atoms.copy()
    moved.set_cell(atoms.cell.array @ r.T, scale_atoms=True)
    moved.positions += 0.3
    e2, f2 = energy_forces(model, moved)
    assert e2 == pytest.approx(e, abs=1e-9)
    np.testing.assert_allclose(f2, f @ r.T, atol=1e-9)


def test_stress_equals_strain_derivative():
    model = small_model()
    atoms = periodic_box()
    atoms.calc = GauntCalculator(model, device="cpu", dtype="float64")
    stress = atoms.get_stress(voigt=False)
    assert np.abs(stress).max() > 1e-3
    numerical = atoms.calc.calculate_numerical_stress(atoms, d=1e-5, voigt=False)
    np.testing.assert_allclose(stress, numerical, atol=1e-7)


@pytest.mark.parametrize("size", [4.0, 2.6])  # the second cell is smaller than the 3.5 Å cutoff
def test_extensive_in_supercells(size):
    model = small_model()
    atoms = periodic_box(n=3, size=size)
    e1, f1 = energy_forces(model, atoms)
    e2, f2 = energy_forces(model, atoms.repeat((2, 1, 1)))
    assert e2 == pytest.approx(2 * e1, rel=1e-9)
    np.testing.assert_allclose(f2[: len(atoms)], f1, atol=1e-9)


def test_batch_equals_one_at_a_time(acac):
    model = small_model()
    structures = [acac, periodic_box(), read(DATA / "acac" / "train_300K.xyz", 5)]
    graphs = [atoms_to_graph(a, model.config.r_max, model.species_of) for a in structures]
    out = model(batch_graphs(graphs), compute_forces=True)
    start = 0
    for i, g in enumerate(graphs):
        single = model(batch_graphs([g]), compute_forces=True)
        assert out["energy"][i].item() == pytest.approx(single["energy"][0].item(), abs=1e-10)
        torch.testing.assert_close(out["forces"][start : start + g.num_nodes], single["forces"], atol=1e-10, rtol=0)
        start += g.num_nodes


def test_a_batch_of_one_is_torch_geometrics_batch(acac):
    from torch_geometric.data import Batch

    for atoms in (acac, periodic_box()):
        graph = atoms_to_graph(atoms, 3.5, {1: 0, 6: 1, 8: 2})
        ours, theirs = batch_graphs([graph]), Batch.from_data_list([graph])
        assert sorted(ours.keys()) == sorted(theirs.keys()) and ours.num_graphs == theirs.num_graphs == 1
        for key in theirs.keys():
            value = theirs[key]
            assert torch.equal(ours[key], value) if torch.is_tensor(value) else ours[key] == value, key
        assert ours.to("cpu").num_nodes == len(atoms)


def test_a_structure_graph_holds_what_a_batch_of_one_holds(acac):
    """Calculators pass ``structure_graph`` to the model: the same tensors as torch-geometric's batch of one,
    and the same energies and forces."""
    from gaunt_md.data import structure_graph

    model = small_model()
    for atoms in (acac, periodic_box()):
        ours = structure_graph(atoms, model.config.r_max, model.species_of, torch.float64)
        theirs = batch_graphs([atoms_to_graph(atoms, model.config.r_max, model.species_of)])
        assert ours.num_graphs == 1
        for key in ("positions", "species", "edge_index", "shifts", "cell", "volume", "batch"):
            assert torch.equal(getattr(ours, key), theirs[key]), key
        stress = bool(atoms.pbc.all())
        a, b = (model(g, compute_forces=True, compute_stress=stress) for g in (ours, theirs))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_float32_agrees_with_float64(acac):
    model = small_model()
    e64, f64 = energy_forces(model, acac, "float64")
    e32, f32 = energy_forces(model, acac, "float32")
    assert abs(e32 - e64) / abs(e64) < 1e-5
    assert np.abs(f32 - f64).max() / np.abs(f64).max() < 1e-4


def test_float32_model_sums_energies_in_float64(acac):
    """E0s of ~1 keV per atom: a float32 sum would be off by ~1 meV (float32 resolves 1e-3 eV at 9 keV);
    the model's interaction energy is float32, its sum with the E0s float64."""
    model = small_model(e0s={"H": -13.6, "C": -1029.0, "O": -2041.0})
    graph = batch_graphs([atoms_to_graph(acac, model.config.r_max, model.species_of, dtype=torch.float32)])
    out = model.float()(graph, compute_forces=True)
    assert out["energy"].dtype == out["energies"].dtype == torch.float64
    assert out["forces"].dtype == torch.float32 and model.e0.dtype == torch.float64
    e64, _ = energy_forces(model.double(), acac, "float64")
    interaction = e64 - float(model.e0.index_select(0, graph.species).sum())
    assert abs(out["energy"].item() - e64) < 2e-6 * max(abs(interaction), 1.0)


def test_save_and_load_give_identical_outputs(tmp_path, acac):
    model = small_model(e0s={"H": -13.6, "C": -1029.0, "O": -2041.0}, avg_num_neighbors=12.5)
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = GauntForceField.load(path)
    assert loaded.config == model.config
    e, f = energy_forces(model, acac)
    e2, f2 = energy_forces(loaded, acac)
    assert e2 == e
    np.testing.assert_array_equal(f2, f)
    atoms = acac.copy()
    atoms.calc = GauntCalculator(str(path), device="cpu", dtype="float64")
    assert atoms.get_potential_energy() == e


def test_e0s_enter_the_energy(acac):
    zero = small_model(scale=0.0)
    shifted = small_model(scale=0.0, e0s={"H": -1.0, "C": -10.0, "O": -100.0}, shift=0.25)
    counts = {s: acac.get_chemical_symbols().count(s) for s in "HCO"}
    expected = -1.0 * counts["H"] - 10.0 * counts["C"] - 100.0 * counts["O"] + 0.25 * len(acac)
    assert energy_forces(shifted, acac)[0] - energy_forces(zero, acac)[0] == pytest.approx(expected, abs=1e-9)


def test_per_atom_energies_sum_to_total(acac):
    atoms = acac.copy()
    atoms.calc = GauntCalculator(small_model(), device="cpu", dtype="float64")
    assert atoms.get_potential_energies().sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-9)


def test_constants_and_loaded_weights_are_exact_in_float64(tmp_path):
    """The model is built in float64 (Gaunt tables and E0s not rounded through float32), and a
    float32 file loads into float64 exactly; the calculator casts down when asked."""
    from gaunt_md.so3 import gaunt_tensor

    model = GauntForceField(
        elements=["H", "O"],
        channels=8,
        radial_groups=2,
        lmax=2,
        hidden_lmax=1,
        num_layers=2,
        e0s={"H": -13.568422178253735, "O": -2041.1234567891},
    )
    conv = model.layers[1].conv
    g = gaunt_tensor(1, 2, 2)
    expected = (g.permute(2, 1, 0) * conv.output_norm(1, 2)[:, None, None]).reshape(g.shape[2], -1)  # [o, (lm, k)]
    assert conv.gaunt.dtype == torch.float64 and torch.equal(conv.gaunt, expected)
    assert model.e0.tolist() == [-13.568422178253735, -2041.1234567891]
    model.float().save(tmp_path / "m.pt")
    loaded = GauntForceField.load(tmp_path / "m.pt")
    assert all(p.dtype == torch.float64 for p in loaded.parameters())
    for name, saved in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], saved.double()), name


def test_version_1_names_map_to_version_2():
    """The renaming that loads format-1 files: radial MLPs under ``conv.radial.mlp``, the one Bessel
    basis copied into each layer; a current state dict passes unchanged."""
    import re

    from gaunt_md.formats import from_version_1

    state = small_model().state_dict()
    frequencies = state["layers.0.conv.radial.embedding.frequencies"]
    old = {
        re.sub(r"conv\.radial\.mlp\.", "conv.radial.", k): v
        for k, v in state.items()
        if "embedding.frequencies" not in k
    }
    old["radial.frequencies"] = frequencies
    new = from_version_1(old)
    assert new.keys() == state.keys() and all(torch.equal(new[k], v) for k, v in state.items())
    assert from_version_1(state) is state
