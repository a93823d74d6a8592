"""Compiled calculator calls: the code around the compiled graph before and after 2026-12-06, in one process.

Around the graph, a compiled force call builds the neighbour graph, the neighbour table and the padded
inputs, work the graph call itself does not see. Until 2026-12-06 (git 845106e) the calculator built
torch-geometric containers (``Data``, then ``Batch``), the table with about twenty torch operators on a
few hundred integers, and switched to one thread for small molecules only around the graph call. Now it
builds a plain batch of one (``gaunt_md.data.structure_graph``), the table with numpy (kept from the previous
call while the edges stay the same, as in most MD steps of a molecule, and in every call here, where only
atom 0 moves by 1e-5 Å), and runs the whole call of a small molecule on one thread. This script keeps the earlier path (``Before`` below, its table
code copied from 845106e) and times it against today's calculator and the graph call alone, on the same
compiled graph, in interleaved rounds (``_timing.interleaved_calls``): the default model (128 channels,
float32, random weights, seed 0), 2 threads as ``benchmarks/speed.py``. Run it on a quiet machine.

    python benchmarks/around_graph.py   # ~4 min: benchmarks/results/around_graph.json, docs/performance.md
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from _docs import write_section
from _timing import interleaved_calls, measure_systems, paired_summary
from ase.calculators.calculator import Calculator
from ase.io import read

import gaunt_md.compiled as compiled
from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import atoms_to_graph, batch_graphs, structure_graph
from gaunt_md.nn.neighbours import NeighbourTable

ROOT = Path(__file__).resolve().parents[1]
ROUNDS, THREADS = 9, 2


def torch_table(centers, neighbours, num_nodes: int, groups: int, n_edges: int, width: int) -> NeighbourTable:
    """``NeighbourTable.build`` as of 845106e: torch operators."""
    real = centers.numel()
    valid = torch.nonzero(centers < num_nodes).squeeze(1)
    target = centers[valid]
    counts = torch.bincount(target, minlength=num_nodes)
    order = torch.argsort(target, stable=True)
    start = torch.cumsum(counts, 0) - counts
    slot_rank = torch.arange(target.numel()) - start[target[order]]
    slots = torch.full((num_nodes * width,), real, dtype=torch.long)
    slots[target[order] * width + slot_rank] = valid[order]
    slots = slots.view(num_nodes, width)
    group = torch.arange(groups)
    empty = (slots == real)[:, None, :]
    edge = torch.where(empty, n_edges * groups, slots[:, None, :] * groups + group[:, None]).reshape(-1)
    atom = torch.cat([neighbours, neighbours.new_full((1,), num_nodes)])[slots]
    neighbour = torch.where(empty, num_nodes * groups, atom[:, None, :] * groups + group[:, None]).reshape(-1)
    filled = torch.nonzero(slots < real)
    rank = torch.empty(real, dtype=torch.long)
    rank[slots[filled[:, 0], filled[:, 1]]] = filled[:, 1]
    edge_table = (centers[:, None] * groups + group) * width + rank[:, None]
    padding = edge_table.new_full((n_edges - real, groups), edge.numel())
    return NeighbourTable(width, edge, torch.cat([edge_table, padding]).view(-1, 1), neighbour)


class BeforeCompiled(compiled.CompiledForceField):
    """``_padded`` as of 845106e: sizes, padding and table with torch operators, built on every call."""

    def _padded(self, graph, compute_stress: bool):
        kind = (graph.positions.shape[0], compute_stress, graph.positions.dtype, str(graph.positions.device))
        centers, neighbours = graph.edge_index
        sizes = (centers.numel(), int(torch.bincount(centers).max()))
        key = compiled.shape_key([k for k, c in self.calls.items() if c is not None], sizes, kind)
        config, pad = self.model.config, key[1] - centers.numel()
        table = torch_table(centers, neighbours, kind[0], config.radial_groups, key[1], key[2])
        shifts = graph.shifts.new_zeros(pad, 3)
        shifts[:, 0] = compiled.PAD_LENGTH * config.r_max
        edge_index = torch.cat([graph.edge_index, graph.edge_index.new_zeros(2, pad)], dim=1)
        padded = (graph.positions, torch.cat([graph.shifts, shifts]), edge_index, graph.species, graph.volume)
        return (*padded, table.edge, table.edge_table, table.neighbour), key


class Before(GauntCalculator):
    """The calculator call as of 845106e, on the compiled graphs of ``now``."""

    def __init__(self, now: GauntCalculator) -> None:
        Calculator.__init__(self)
        self.model, self.dtype, self.device, self.is_committee = now.model, now.dtype, now.device, False
        self.compiled = BeforeCompiled(now.model)
        self.compiled.calls = now.compiled.calls

    def calculate(self, atoms=None, properties=("energy",), system_changes=()) -> None:
        Calculator.calculate(self, atoms, properties, system_changes)
        graph = atoms_to_graph(self.atoms, self.model.config.r_max, self.model.species_of, dtype=self.dtype)
        out = self.compiled(batch_graphs([graph]), compute_stress=bool(self.atoms.pbc.all()))
        out = {k: v.detach().cpu().double().numpy() for k, v in out.items()}
        self.results = {"energy": float(out["energy"][0]), "energies": out["energies"], "forces": out["forces"]}


class GraphAlone(GauntCalculator):
    """The compiled graph call alone, on inputs padded once (forces of the first structure)."""

    def __init__(self, now: GauntCalculator, atoms) -> None:
        Calculator.__init__(self)
        graph = structure_graph(atoms, now.model.config.r_max, now.model.species_of, now.dtype)
        self.inputs, key = now.compiled._padded(graph, bool(atoms.pbc.all()))
        self.call, self.atoms_count = now.compiled.calls[key], len(atoms)

    def calculate(self, atoms=None, properties=("energy",), system_changes=()) -> None:
        Calculator.calculate(self, atoms, properties, system_changes)
        with compiled.threads_for(self.atoms_count, "cpu"):
            forces = self.call(*self.inputs)[2]
        self.results = {"forces": forces.double().numpy()}


def measure(file: Path, calls: int) -> dict:
    torch.manual_seed(0)
    now = GauntCalculator(GauntForceField(["H", "C", "N", "O"]), device="cpu", dtype="float32", compile=True)
    atoms = read(file, 0)
    first = atoms.copy()
    first.calc = now
    first.get_forces()  # compiles
    calcs = {"before": Before(now), "now": now, "graph": GraphAlone(now, atoms)}
    return paired_summary(*interleaved_calls(calcs, atoms, calls, ROUNDS), "before", "now")


def main() -> None:
    torch.set_num_threads(THREADS)
    results = measure_systems(measure, THREADS)
    (ROOT / "benchmarks" / "results" / "around_graph.json").write_text(json.dumps(results, indent=2))
    write_docs(results)


def write_docs(results: dict) -> None:
    meta, rows = results["meta"], {k: v for k, v in results.items() if k != "meta"}
    lines = [
        f"Compiled calculator calls ({meta['time']}, {THREADS} threads): the code around the graph as of 845106e "
        "(torch-geometric containers, the neighbour table with torch operators, one thread for small molecules "
        "around the graph call only) against today's (`gaunt_md.data.structure_graph`, the table with numpy and kept "
        "while the edges stay the same, as they do here, where only atom 0 moves by 1e-5 Å per call, the whole call "
        "of a small molecule on one thread), both on the same compiled graph, and the graph call alone on "
        "inputs padded once, behind ASE's calculator interface (so the last column is gaunt-md's own code around the "
        f"graph); medians over {ROUNDS} interleaved rounds, speed-up: the median of the per-round ratios. "
        "Rerun: `python benchmarks/around_graph.py`.",
        "",
        "| system | before ms/call | now ms/call | speed-up | graph alone ms | gaunt-md around the graph now ms |",
        "|---|---|---|---|---|---|",
        *(
            f"| {n} | {r['before_ms']:.2f} | {r['now_ms']:.2f} | {r['speedup']:.2f}x | {r['graph_ms']:.2f} | "
            f"{r['now_ms'] - r['graph_ms']:.2f} |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "around_graph", "Around the graph", lines)


if __name__ == "__main__":
    main()
