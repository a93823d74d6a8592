"""Compiled force calls with static shapes (gaunt_md.compiled) against the eager model."""

import math

import numpy as np
import pytest
import torch
from ase.io import read, write
from click.testing import CliRunner

from gaunt_md import GauntCalculator
from gaunt_md.cli import main
from gaunt_md.committee import Committee
from gaunt_md.compiled import HEADROOM, REUSE, CompiledForceField, bucket, graph_sizes
from gaunt_md.data import atoms_to_graph, batch_graphs
from gaunt_md.nn.neighbours import NeighbourTable
from helpers import DATA, periodic_box, small_model

pytestmark = pytest.mark.data  # reads ../shared/data


def graph_of(atoms, model, dtype=torch.float64):
    return batch_graphs([atoms_to_graph(atoms, model.config.r_max, model.species_of, dtype=dtype)])


def test_buckets_pad_by_at_most_a_quarter():
    assert [bucket(n) for n in (1, 7, 8, 9, 11, 16, 17, 33, 100, 210)] == [1, 7, 8, 10, 12, 16, 20, 40, 112, 224]
    for n in range(1, 5000):
        assert n <= bucket(n) <= max(1.25 * n, 8)
    assert len({bucket(n) for n in range(200, 400)}) == 5  # the sizes an MD run may meet change in steps


def test_padded_trace_equals_the_model_on_molecules_and_periodic_cells():
    """backend="eager": the padded, traced force call without compilation; padded edges and table
    slots add exactly nothing, and frames whose edge counts wander (128 and 130 edges, across the
    bucket boundary at 128) share the bucket that the first frame opened with headroom; a structure
    with far fewer edges (the molecule stretched 2x) opens its own."""
    model = small_model().for_inference()
    compiled = CompiledForceField(model, backend="eager")
    frames = read(DATA / "acac" / "test_MD_300K.xyz", ":4")
    stretched = frames[0].copy()
    stretched.positions *= 2.0
    for atoms in [*frames, stretched, periodic_box(seed=1)]:
        graph = graph_of(atoms, model)
        periodic = bool(atoms.pbc.all())
        reference = model(graph, compute_forces=True, compute_stress=periodic)
        for _ in range(2):  # the first call traces, the second replays
            out = compiled(graph, compute_stress=periodic)
            assert set(out) == set(reference)
            for k in reference:
                torch.testing.assert_close(out[k], reference[k], atol=1e-12, rtol=0)
    sizes = [graph_sizes(graph_of(a, model)) for a in frames]
    assert {edges for edges, _ in sizes} == {128, 130}
    molecule_buckets = sorted(key[1:3] for key in compiled.calls if not key[3])  # key: atoms, edges, width, stress
    first = tuple(bucket(math.ceil(HEADROOM * size)) for size in sizes[0])
    assert first == (160, 16) and molecule_buckets[-1] == first  # one bucket for the four frames
    assert len(molecule_buckets) == 2 and molecule_buckets[0][0] <= first[0] / REUSE  # and one for the stretched
    assert all(call is not None for call in compiled.calls.values())


def test_the_padded_edges_of_the_previous_call_serve_while_the_edges_stay(monkeypatch):
    """An MD step that moves atoms without changing the neighbour list reuses the previous call's
    padded edges and table; new edges rebuild them, also when their count is the same (the atoms
    reordered); all give the model's forces."""
    import gaunt_md.compiled as module

    model = small_model().for_inference()
    compiled = CompiledForceField(model, backend="eager")
    builds, build = [], module.padded_edges
    monkeypatch.setattr(module, "padded_edges", lambda *a: builds.append(1) or build(*a))
    atoms = read(DATA / "acac" / "test_MD_300K.xyz", 0)
    moved, stretched = atoms.copy(), atoms.copy()
    moved.positions[0] += 1e-3  # the same edges
    reordered = moved[np.random.default_rng(0).permutation(len(moved))]  # as many edges, other indices
    stretched.positions *= 1.2  # fewer edges
    edges = []
    for frame in (atoms, moved, reordered, stretched, moved):
        graph = graph_of(frame, model)
        edges.append(graph.edge_index.shape[1])
        out = compiled(graph)
        torch.testing.assert_close(out["forces"], model(graph, compute_forces=True)["forces"], atol=1e-12, rtol=0)
    assert edges[0] == edges[1] == edges[2] != edges[3] and len(builds) == 4  # all but the second call build


def test_a_table_narrower_than_the_neighbour_count_is_refused():
    centers, neighbours = torch.tensor([0, 0, 0, 1]), torch.tensor([1, 2, 3, 0])
    with pytest.raises(ValueError, match="width 2 is smaller than the largest count 3"):
        NeighbourTable.build(centers, neighbours, 4, 2, num_edges=8, width=2)


def tiny_model():
    return small_model(channels=4, radial_groups=2, lmax=1, correlation=2, radial_hidden=4)


def test_inductor_compiled_forces_agree_with_eager_in_float64(monkeypatch):
    """Compiled and eager forces agree to 1e-6 eV/Å in float64; on CPU inductor writes the C++ wrapper."""
    wrappers, compile_ = [], torch._inductor.compile
    monkeypatch.setattr(
        torch._inductor, "compile", lambda *a: wrappers.append(torch._inductor.config.cpp_wrapper) or compile_(*a)
    )
    model = tiny_model()
    atoms = read(DATA / "acac" / "test_MD_300K.xyz", 0)
    eager, fast = atoms.copy(), atoms.copy()
    eager.calc = GauntCalculator(model, device="cpu", dtype="float64")
    fast.calc = GauntCalculator(model, device="cpu", dtype="float64", compile=True)
    assert np.abs(fast.get_forces() - eager.get_forces()).max() < 1e-6
    assert fast.get_potential_energy() == pytest.approx(eager.get_potential_energy(), abs=1e-8)
    ((key, call),) = fast.calc.compiled.calls.items()
    assert call is not None and fast.calc.compiled.compile_seconds[key] > 0
    # the same graph compiled again (as by a later process) is loaded from inductor's on-disk graph cache
    counters = torch._dynamo.utils.counters["inductor"]
    hits = counters["fxgraph_cache_hit"]
    again = atoms.copy()
    again.calc = GauntCalculator(model, device="cpu", dtype="float64", compile=True)
    assert np.abs(again.get_forces() - fast.get_forces()).max() < 1e-12
    assert counters["fxgraph_cache_hit"] == hits + 1
    assert wrappers == [True, True]


def test_small_molecules_run_on_few_threads_and_the_callers_threads_are_restored(monkeypatch):
    """Up to SMALL_ATOMS atoms the compiled call (and its compilation) sees at most SMALL_THREADS CPU
    threads; afterwards, and for larger structures, the caller's thread count is what it was."""
    import gaunt_md.compiled as compiled

    seen = []
    monkeypatch.setattr(
        compiled, "compile_graph", lambda traced, inputs, backend: seen.append(torch.get_num_threads()) or traced
    )
    monkeypatch.setattr(compiled, "SMALL_THREADS", 1)  # this machine may have only two cores to cap
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model, atoms = tiny_model(), read(DATA / "acac" / "test_MD_300K.xyz", 0)  # 15 atoms
        for limit, expected in ((32, 1), (10, 2)):
            monkeypatch.setattr(compiled, "SMALL_ATOMS", limit)
            calc = GauntCalculator(model, device="cpu", dtype="float64", compile=True)
            calc.get_forces(atoms)
            assert seen[-1] == expected and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_failed_compilation_falls_back_to_the_eager_model(monkeypatch):
    model = small_model().for_inference()
    compiled = CompiledForceField(model)

    def broken(*args):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(compiled, "_compile", broken)
    graph = graph_of(read(DATA / "acac" / "test_MD_300K.xyz", 0), model)
    reference = model(graph, compute_forces=True)
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        out = compiled(graph)
    torch.testing.assert_close(out["forces"], reference["forces"], atol=0, rtol=0)
    assert list(compiled.calls.values()) == [None]
    torch.testing.assert_close(compiled(graph)["forces"], reference["forces"], atol=0, rtol=0)  # no second warning


def test_a_compiled_committee_gives_the_eager_committees_mean_and_spread():
    """The members' batched call (one torch.vmap) traced and compiled as one graph: mean and spread of
    energy, forces and stress as the eager committee's, in float64, on a periodic cell."""
    torch.manual_seed(0)
    committee = Committee([tiny_model(), tiny_model(), tiny_model()], std_scale=1.5)
    atoms = periodic_box()
    eager, fast = atoms.copy(), atoms.copy()
    eager.calc = GauntCalculator(committee, device="cpu", dtype="float64")
    fast.calc = GauntCalculator(committee, device="cpu", dtype="float64", compile=True)
    assert np.abs(fast.get_forces() - eager.get_forces()).max() < 1e-6
    assert fast.get_potential_energy() == pytest.approx(eager.get_potential_energy(), abs=1e-8)
    np.testing.assert_allclose(fast.get_stress(), eager.get_stress(), atol=1e-8, rtol=0)
    for key in ("energy_std", "forces_std", "stress_std"):
        np.testing.assert_allclose(fast.calc.results[key], eager.calc.results[key], atol=1e-7, rtol=0)
    assert eager.calc.results["forces_std"].max() > 1e-3  # the members differ
    ((_, call),) = fast.calc.compiled.calls.items()
    assert call is not None


def test_an_exported_file_runs_without_the_model_and_refuses_other_systems(tmp_path):
    """gaunt-md export writes a .pt2 (AOTInductor) that GauntCalculator runs: forces as the eager
    model's, on the structure and on another frame of the same molecule; in float32, whose float64
    energy sum once failed inductor's code generation (the float64 path is the test above)."""
    model = tiny_model()
    model.save(tmp_path / "tiny.pt")
    frames = read(DATA / "acac" / "test_MD_300K.xyz", ":2")
    write(tmp_path / "acac.xyz", frames[0])
    args = [
        "export",
        tmp_path / "acac.xyz",
        "--model",
        tmp_path / "tiny.pt",
        "--output",
        tmp_path / "acac",
        "--device",
        "cpu",
        "--dtype",
        "float32",
    ]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and (tmp_path / "acac.pt2").is_file()
    again = CliRunner().invoke(main, [str(a) for a in args])
    assert again.exit_code == 1 and "exists; use --force" in again.output
    for atoms in frames:
        eager, exported = atoms.copy(), atoms.copy()
        eager.calc = GauntCalculator(model, device="cpu", dtype="float32")
        exported.calc = GauntCalculator(str(tmp_path / "acac.pt2"))
        assert exported.calc.dtype == torch.float32
        assert np.abs(exported.get_forces() - eager.get_forces()).max() < 1e-5
        assert exported.get_potential_energy() == pytest.approx(eager.get_potential_energy(), abs=1e-5)
    smaller = frames[0][:10]
    smaller.calc = GauntCalculator(str(tmp_path / "acac.pt2"))
    with pytest.raises(ValueError, match="serves 15 atoms .* this structure has 10 atoms"):
        smaller.get_forces()
    (tmp_path / "junk.pt2").write_bytes(b"not a package")
    with pytest.raises(ValueError, match="not a force call exported by gaunt-md export"):
        GauntCalculator(str(tmp_path / "junk.pt2"))


def test_traced_graphs_take_whole_tensors_where_eager_calls_run_in_blocks(monkeypatch):
    """Eagerly the neighbour sum runs in cache-sized
    blocks (here blocks of a row, so acac has many); traced for inductor, blocks become slice copies and a concatenation
    whose kernel tests every block for every element, so the traced graph must not depend on the block
    sizes: the same operators as with blocks larger than any tensor, and the model's forces."""
    from torch.utils._python_dispatch import TorchDispatchMode

    import gaunt_md.nn.neighbour_sum as neighbour_sum
    from gaunt_md.blocking import blocked, whole_tensors
    from gaunt_md.compiled import padded_inputs, trace

    class Products(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Products.count += str(func) in ("aten.mm.default", "aten.bmm.default")
            return func(*args, **(kwargs or {}))

    def operators(traced):
        return sorted(str(n.target) for n in traced.graph.nodes if n.op == "call_function")

    model = small_model().for_inference()
    graph = graph_of(read(DATA / "acac" / "test_MD_300K.xyz", 0), model)
    inputs = padded_inputs(graph, model.config, *graph_sizes(graph))
    traced, eager = {}, {}
    for size in ("large", "tiny"):
        scale = 1 << 30 if size == "large" else 1
        monkeypatch.setattr(neighbour_sum, "BLOCK_BYTES", 64 * scale)
        traced[size] = trace(model, inputs, compute_stress=False)
        Products.count = 0
        with Products():
            reference = model(graph, compute_forces=True)
        eager[size] = Products.count
    whole = sum(t in ("aten.mm.default", "aten.bmm.default") for t in operators(traced["tiny"]))
    assert eager["large"] == whole  # blocks larger than any tensor: the eager call's products, once each
    assert eager["tiny"] > 1.5 * whole  # eagerly, the tiny blocks multiply the matrix products
    assert operators(traced["tiny"]) == operators(traced["large"])
    forces = traced["tiny"](*inputs)[2]
    torch.testing.assert_close(forces, reference["forces"], atol=1e-12, rtol=0)
    x = torch.zeros(1)
    with whole_tensors():
        assert not blocked(x)
    assert blocked(x) and not blocked(torch.zeros(1, device="meta"))
