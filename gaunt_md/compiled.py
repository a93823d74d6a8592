"""Force calls with static shapes: traced once per shape bucket and compiled by inductor.

A small molecule's force call dispatches ~900 aten operators on tensors of a few kB, so Python and
dispatch, not arithmetic, take most of its time (``docs/performance.md``). Here a structure's graph
is padded to sizes that change only in steps (:func:`bucket`): the edges to a padded count, whose
extra edges are 3 r_max long (no radial function, table slot or pair prior reaches them, so they add
exactly zero), and the neighbour table to a padded width. The whole force call (energy, forces by
autograd, stress) of a padded graph is traced into one graph of aten operators
(``torch.fx.experimental.proxy_tensor.make_fx``, which records the backward pass too), and that graph
is compiled by inductor (:func:`compile_graph`, C++ kernels on CPU, Triton on CUDA). An MD run of a
molecule meets one or a few buckets; each costs one compilation (inductor caches its kernels on
disk: a later process with the same model and sizes loads the compiled graph, :func:`compile_graph`).

The eager model stays the reference and the fallback: the first call of every bucket is checked
against it, and a bucket that fails to compile or disagrees runs the eager model.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from types import SimpleNamespace

import numpy as np
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv

from .blocking import whole_tensors
from .nn.neighbours import NeighbourTable

PAD_LENGTH = 3.0  # padded edges are PAD_LENGTH · r_max long, beyond every cutoff
HEADROOM = 1.1  # a new bucket fits 10% more edges and neighbours than the structure that opens it
REUSE = 2.0  # a compiled bucket serves any structure it fits whose sizes are at least 1/REUSE of its own
OUTPUTS = ("energy", "energies", "forces", "stress")
CHECK_TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-8}  # eV/Å, compiled vs eager on a bucket's first call
# up to SMALL_ATOMS atoms a compiled force call runs on at most SMALL_THREADS CPU threads: its kernels are too small to
# share among many. On 2 cores (2026-12-06, benchmarks/small_threads.py) two threads beat one for acac and 3bpa
# (5.5 against 6.5 ms, 7.4 against 9.9) and tied for ethanol; more than two were never measured on such molecules
SMALL_ATOMS, SMALL_THREADS = 32, 2


def bucket(n: int) -> int:
    """The smallest size ≥ n in steps of a quarter of a power of two: 1, 2, ..., 8, 10, 12, 14, 16,
    20, 24, 28, 32, 40, ... (at most 25% padding)."""
    if n <= 8:
        return max(n, 1)
    power = 2 ** (math.floor(math.log2(n)) - 2)
    return power * math.ceil(n / power)


class CompiledForceField:
    """Energy, per-atom energies, forces (and stress) of one structure per call, through a traced and
    compiled copy of ``model`` (a :meth:`GauntForceField.for_inference` copy, or a committee's, whose
    ``torch.vmap`` over the members is traced into the same graph) for each shape bucket (atoms,
    padded edges, padded table width, with or without stress).

    ``backend`` is "inductor" (the default) or "eager" to run the traced graph without compiling it
    (the same padding and trace; for tests and debugging).
    ``compile_seconds`` records, per bucket, the seconds its trace and first compiled call took.
    """

    def __init__(self, model: torch.nn.Module, backend: str = "inductor") -> None:
        self.model, self.backend = model, backend
        self.calls: dict[tuple, object] = {}
        self.compile_seconds: dict[tuple, float] = {}
        self._last: tuple | None = None  # (kind, edge_index, key, padded edges) of the previous call

    def __call__(self, graph, compute_stress: bool = False) -> dict[str, torch.Tensor]:
        """``graph``: one structure (``gaunt_md.data.structure_graph``, or a batch of one). Returns
        ``energy [1]`` (eV), ``energies [N]``, ``forces [N, 3]`` (eV/Å) and, with ``compute_stress``,
        ``stress [1, 3, 3]`` (eV/Å^3), as the model's own forward would (a committee's: each with a
        first axis of K members). A bucket whose compilation
        fails or disagrees with the eager model runs the eager model (with a warning, once)."""
        if int(graph.num_graphs) != 1:
            raise ValueError("a compiled force call takes one structure at a time")
        compute_stress = bool(compute_stress)
        inputs, key = self._padded(graph, compute_stress)
        with threads_for(key[0], inputs[0].device):  # inductor fixes a kernel's threads when it compiles it
            if key not in self.calls:
                return self._first_call(key, inputs, graph, compute_stress)
            if self.calls[key] is None:
                return self.model(graph, compute_forces=True, compute_stress=compute_stress)
            return dict(zip(OUTPUTS, self.calls[key](*inputs)))

    def _first_call(self, key: tuple, inputs: tuple, graph, compute_stress: bool) -> dict[str, torch.Tensor]:
        """Trace and compile a bucket, time it, and check its first result against the eager model."""
        reference = self.model(graph, compute_forces=True, compute_stress=compute_stress)
        start = time.perf_counter()
        try:
            call = self._compile(inputs, compute_stress)
            out = dict(zip(OUTPUTS, call(*inputs)))
        except Exception as exc:  # a missing C++ compiler, an unsupported operator: the eager model works
            warnings.warn(
                f"compiling the force call failed ({type(exc).__name__}: {exc}); using the eager model", stacklevel=3
            )
            self.calls[key] = None
            return reference
        self.compile_seconds[key] = time.perf_counter() - start
        error = (reference["forces"] - out["forces"]).abs().max().item() if out["forces"].numel() else 0.0
        if not error <= CHECK_TOLERANCE[out["forces"].dtype]:
            warnings.warn(f"the compiled force call is off by {error:.3g} eV/Å; using the eager model", stacklevel=3)
            self.calls[key] = None
            return reference
        self.calls[key] = call
        return out

    def _padded(self, graph, compute_stress: bool) -> tuple[tuple, tuple]:
        """The inputs of the traced call, padded to their bucket, and the bucket's key.

        Hysteresis, so that an MD run whose edge count wanders across a bucket boundary compiles
        once: a structure goes to the smallest compiled bucket it fits (within a factor REUSE), and
        only otherwise opens a new bucket, sized with HEADROOM above the structure. The padded edges
        and their table are kept from the previous call while its edges stay the same (most steps of
        an MD run of a molecule)."""
        kind = (graph.positions.shape[0], compute_stress, graph.positions.dtype, str(graph.positions.device))
        last = self._last
        if last is not None and last[0] == kind and torch.equal(last[1], graph.edge_index) and last[2] in self.calls:
            key, edges = last[2:]
        else:
            key = shape_key([k for k, call in self.calls.items() if call is not None], graph_sizes(graph), kind)
            edges = padded_edges(graph, self.model.config, key[1], key[2])
            self._last = (kind, graph.edge_index, key, edges)
        return padded_inputs(graph, self.model.config, key[1], key[2], edges), key

    def _compile(self, inputs: tuple, compute_stress: bool):
        return compile_graph(trace(self.model, inputs, compute_stress), inputs, self.backend)


@contextlib.contextmanager
def threads_for(atoms: int, device: torch.device | str):
    """At most SMALL_THREADS CPU threads for a structure of at most SMALL_ATOMS atoms (the caller's count
    restored afterwards). Callers wrap the graph building too: its small torch operators do not gain from
    many threads either."""
    before = torch.get_num_threads()
    if torch.device(device).type != "cpu" or atoms > SMALL_ATOMS or before <= SMALL_THREADS:
        yield
        return
    torch.set_num_threads(SMALL_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def compile_graph(traced: torch.fx.GraphModule, inputs: tuple, backend: str):
    """``traced`` (a graph of aten operators from ``make_fx``) compiled by inductor for the shapes of
    ``inputs``, or itself with ``backend="eager"``. Inductor takes the graph directly
    (``torch._inductor.compile``): ``torch.compile`` would trace it again through TorchDynamo and check
    Dynamo's guards on every call (1.06-1.30x slower on ethanol, acac and 3bpa, docs/performance.md).
    On CPU the compiled graph's wrapper, which allocates the buffers and calls the kernels and matrix
    products in order, is C++ instead of Python (``cpp_wrapper``): force calls 1.09-1.27x and
    training steps 1.04-1.09x faster for 9-27 atoms (``benchmarks/inductor_wrapper.py``). The compiled graph goes
    to inductor's on-disk graph cache, from which a later process loads it (acac's first force call 3.7 against 27 s,
    its training step 7 against 76 s; ``benchmarks/compile_cache.py``)."""
    if backend == "eager":
        return traced
    if backend != "inductor":
        raise ValueError(f"unknown backend {backend!r}: inductor or eager")
    leaves = [x.detach() for x in torch.utils._pytree.tree_leaves(inputs)]
    cpu = all(x.device.type == "cpu" for x in leaves)
    # make_fx's example values on the nodes come from several fake-tensor modes, which the C++ wrapper's
    # second pass refuses to mix; without them inductor derives its own
    if cpu:
        for node in traced.graph.nodes:
            node.meta.pop("val", None)
            node.meta.pop("tensor_meta", None)
    # the graph holds its own backward pass: inductor compiles it for inference. Inductor's on-disk graph
    # cache keys a graph by the symbolic shapes of a tracing context and skips graphs compiled without one
    # ("No shape env"): a context with an empty shape env (the shapes are static) lets a later process load
    # the compiled graph instead of generating and building its C++ again
    context = torch._guards.TracingContext(FakeTensorMode(shape_env=ShapeEnv()))
    with torch.no_grad(), torch._inductor.config.patch(cpp_wrapper=cpu), torch._guards.tracing(context):
        return torch._inductor.compile(traced, leaves)


def compile_dynamic_graph(traced: torch.fx.GraphModule, dynamic: dict[int, int], backend: str, cpu: bool):
    """``traced`` (a graph of aten operators from ``make_fx`` with symbolic shapes) compiled once for
    inputs whose sizes vary along ``dynamic`` ({flat input index: dim}) and are fixed elsewhere (the
    parameters): through TorchDynamo (``torch.compile``), which inductor's dynamic shapes need. Its
    guards cost microseconds, nothing beside a crystal batch's step (a tenth of a second), but too much
    for a molecule's (a few ms: there :func:`compile_graph` compiles each shape). ``backend``: "inductor",
    or any TorchDynamo backend ("eager" captures without compiling: tests); ``cpu``: the inputs live on the CPU
    (inductor's wrapper is then C++, as in :func:`compile_graph`). Returns ``call(*flat inputs)``."""
    for node in traced.graph.nodes:  # Dynamo traces the graph again and derives its own
        node.meta.pop("val", None)
        node.meta.pop("tensor_meta", None)
    traced.graph._codegen = torch.fx.graph.CodeGen()  # flat arguments: Dynamo cannot trace make_fx's pytree code
    traced.recompile()
    options = {"cpp_wrapper": True} if backend == "inductor" and cpu else None
    compiled = torch.compile(traced, backend=backend, dynamic=False, fullgraph=True, options=options)

    def call(*inputs: torch.Tensor):
        for index, dim in dynamic.items():
            torch._dynamo.mark_dynamic(inputs[index], dim)
        return compiled(*inputs)

    return call


def shape_key(compiled: list[tuple], sizes: tuple[int, int], kind: tuple) -> tuple:
    """The key (atoms, padded edges, padded width, *rest of ``kind``) for a graph of ``sizes`` (edges,
    width) and ``kind`` (atoms, ...): the smallest ``compiled`` key it fits within a factor REUSE, or
    a new bucket with HEADROOM."""
    fitting = [
        key
        for key in compiled
        if key[:1] + key[3:] == kind and all(size <= padded <= REUSE * size for size, padded in zip(sizes, key[1:3]))
    ]
    if fitting:
        return min(fitting, key=lambda k: (k[1], k[2]))
    return (kind[0], *(bucket(math.ceil(HEADROOM * size)) for size in sizes), *kind[1:])


def graph_sizes(graph) -> tuple[int, int]:
    """The edge count and the largest neighbour count (the table width) of a graph."""
    centers = graph.edge_index[0].cpu().numpy()  # numpy: cheaper than torch operators on so few integers
    if not centers.size:
        return 1, 1
    return centers.size, int(np.bincount(centers).max())


def padded_edges(graph, config, n_edges: int, width: int) -> tuple[torch.Tensor, ...]:
    """The inputs of a traced call that depend on the edges alone: ``edge_index`` padded to ``n_edges``
    (padded edges: atom 0 to itself) and the three indices of its neighbour table ``width`` slots wide."""
    centers, neighbours = graph.edge_index
    n, pad = graph.positions.shape[0], n_edges - centers.numel()
    table = NeighbourTable.build(centers, neighbours, n, config.radial_groups, n_edges, width)
    edge_index = torch.cat([graph.edge_index, graph.edge_index.new_zeros(2, pad)], dim=1)
    return edge_index, table.edge, table.edge_table, table.neighbour


def padded_inputs(graph, config, n_edges: int, width: int, edges: tuple | None = None) -> tuple[torch.Tensor, ...]:
    """The tensors a traced force call (or training step) takes, for a graph padded to ``n_edges``
    edges and a neighbour table ``width`` slots wide (``config``: the model's, for r_max and the
    radial groups): positions, shifts, edge_index, species, volume and the table's three indices.
    ``edges``: :func:`padded_edges` of this graph, if already at hand."""
    edge_index, *table = padded_edges(graph, config, n_edges, width) if edges is None else edges
    shifts = graph.shifts.new_zeros(n_edges - graph.edge_index.shape[1], 3)
    shifts[:, 0] = PAD_LENGTH * config.r_max
    return (graph.positions, torch.cat([graph.shifts, shifts]), edge_index, graph.species, graph.volume, *table)


def padded_graph(
    width: int,
    num_graphs: int,
    positions: torch.Tensor,
    shifts: torch.Tensor,
    edge_index: torch.Tensor,
    species: torch.Tensor,
    volume: torch.Tensor,
    edge: torch.Tensor,
    edge_table: torch.Tensor,
    neighbour: torch.Tensor,
    batch: torch.Tensor,
    **labels: torch.Tensor,
) -> SimpleNamespace:
    """The graph that a traced call hands the model: the tensors of :func:`padded_inputs`, the batch
    vector [N] and, for a training step, its labels; ``width`` and ``num_graphs`` are constants of the trace."""
    table = NeighbourTable(width, edge, edge_table, neighbour)
    return SimpleNamespace(
        positions=positions,
        shifts=shifts,
        edge_index=edge_index,
        species=species,
        volume=volume,
        batch=batch,
        num_graphs=num_graphs,
        neighbour_table=table,
        **labels,
    )


def trace(model: torch.nn.Module, inputs: tuple, compute_stress: bool) -> torch.fx.GraphModule:
    """The force call of ``model`` on padded ``inputs`` (:func:`padded_inputs`) as one graph of aten
    operators, the backward pass included; it holds for any inputs of the same shapes."""
    width = inputs[5].numel() // (inputs[0].shape[0] * model.config.radial_groups)

    def force_call(*padded):
        graph = padded_graph(width, 1, *padded, padded[3].new_zeros(padded[3].shape[0]))
        out = model(graph, compute_forces=True, compute_stress=compute_stress)
        return tuple(out[k] for k in OUTPUTS if k in out)

    from torch.fx.experimental.proxy_tensor import make_fx

    with torch.enable_grad(), whole_tensors():
        return make_fx(force_call, tracing_mode="real")(*inputs)
