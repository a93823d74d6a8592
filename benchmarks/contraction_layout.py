"""The convolution's Gaunt contraction on atoms (before 2026-12-07) against on (atom, radial group) rows
(now), in compiled force calls and the compiled training step.

The neighbour sum (``gaunt_md.nn.neighbour_sum``) returns its features per row (atom, radial group).
Before, they were transposed to per-atom rows [N, (k lm), C] for the contraction with the Gaunt
coefficients, a copy of the largest tensor of the convolution in the forward pass and another in each
backward pass; now the contraction runs on the rows as they come and only its output, (lmax_in+1)²
(lmax+1)² / (lmax+1)² times smaller, changes layout. This script patches the old contraction in for
one of two copies of the same model and times them interleaved: force calls through compiled
calculators (2 threads, the default model, float32, random weights; the systems of ``_timing.SYSTEMS``)
and the compiled training step of gaunt-acac's fit settings (one thread, a batch of 2, loss and
gradients). Reported: median ms over rounds, the median of the per-round ratios (old over new) and the
largest difference (forces in eV/Å; gradients). Run it on a quiet machine.

    python benchmarks/contraction_layout.py   # ~8 min: benchmarks/results/contraction_layout.json, docs/performance.md
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from _runs import provenance, shipped_config
from _timing import SYSTEMS, interleaved_calls
from ase.io import read
from torch_geometric.data import Batch

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.compiled import compile_graph
from gaunt_md.data import read_frames
from gaunt_md.nn.convolution import GauntConvolution, gather_rows, neighbour_sum
from gaunt_md.so3 import gaunt_tensor
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.step import CompiledStep, trace_step

ROOT = Path(__file__).resolve().parents[1]
ROUNDS, STEP_CALLS = 7, 20
WEIGHTS = {"energy": 1.0, "forces": 100.0, "stress": 1.0}
NEW = GauntConvolution.forward


def old_forward(self, h, lengths, y, table, avg_num_neighbors):
    """The convolution as it was: the summed features transposed to atoms, then contracted."""
    radial = self.radial(lengths)
    n, k, c = h.shape
    g, w, f = self.groups, table.width, self.repeat.shape[1]
    phi = (radial.view(-1, self.lmax + 1) @ self.repeat).view(-1, g, self.inputs, f) * y[:, None, None, :]
    parts = []
    for b, (k0, k1) in enumerate(self.blocks):
        phi_b = gather_rows(phi[:, :, b].reshape(-1, f), table.edge, table.edge_table)
        hb = h[:, k0:k1].reshape(n, k1 - k0, g, c // g).transpose(1, 2).reshape(n * g, -1)
        d = neighbour_sum(phi_b, hb, table.neighbour, w)
        parts.append(d.view(n, g, f, k1 - k0, c // g).permute(0, 3, 2, 1, 4).reshape(n, (k1 - k0) * f, c))
    d = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
    gt = gaunt_tensor(self.lmax_in, self.lmax, self.lmax)
    gaunt = gt.reshape(-1, gt.shape[2]).t() * self.output_norm(self.lmax_in, self.lmax)[:, None]
    return torch.matmul(gaunt.to(d), d) / avg_num_neighbors


@contextlib.contextmanager
def old_contraction():
    GauntConvolution.forward = old_forward
    try:
        yield
    finally:
        GauntConvolution.forward = NEW


def force_calls(file: Path, calls: int) -> dict:
    atoms = read(file, 0)
    torch.manual_seed(0)
    model = GauntForceField(sorted(set(atoms.get_chemical_symbols())))
    calcs = {}
    for name in ("old", "new"):
        calcs[name] = GauntCalculator(model, device="cpu", dtype="float32", compile=True)
        with old_contraction() if name == "old" else contextlib.nullcontext():
            first = atoms.copy()
            first.calc = calcs[name]
            first.get_forces()  # traced and compiled here
    times, forces = interleaved_calls(calcs, atoms, calls, ROUNDS)
    return summary(times, float(abs(forces["old"] - forces["new"]).max()))


def training_step(name: str, file: Path) -> dict:
    cfg = shipped_config(name)
    frames = read_frames(file, "energy", "forces", None)[:2]
    torch.manual_seed(0)
    model = GauntForceField(sorted({int(z) for f in frames for z in f.atoms.numbers}), **cfg["model"]).float()
    batch = Batch.from_data_list(
        [labelled_graph(f, model.config.r_max, model.species_of, torch.float32) for f in frames]
    )
    step = CompiledStep(model.train(), 2, echo=lambda *a: None)
    key = step._key(batch, False) or step._key(batch, False)  # a kind compiles once it has been seen twice
    inputs = step._inputs(batch, key, WEIGHTS)
    calls = {}
    for variant in ("old", "new"):
        with old_contraction() if variant == "old" else contextlib.nullcontext():
            traced = trace_step(model, step.names, inputs, key[2], 2, False)
        calls[variant] = compile_graph(traced, inputs, "inductor")
    outputs = {k: call(*inputs) for k, call in calls.items()}
    times: dict[str, list[float]] = {k: [] for k in calls}
    for r in range(ROUNDS + 1):
        for variant, call in calls.items():
            start = time.perf_counter()
            for _ in range(STEP_CALLS):
                call(*inputs)
            if r:  # round 0 warms up
                times[variant].append(1e3 * (time.perf_counter() - start) / STEP_CALLS)
    scale = max(g.abs().max().item() for g in outputs["new"][1:])
    difference = max((a - b).abs().max().item() for a, b in zip(outputs["old"][1:], outputs["new"][1:])) / scale
    return summary(times, difference)


def summary(times: dict[str, list[float]], difference: float) -> dict:
    return {
        "old_ms": statistics.median(times["old"]),
        "new_ms": statistics.median(times["new"]),
        "speedup": statistics.median([a / b for a, b in zip(times["old"], times["new"])]),
        "difference": difference,
    }


def main() -> None:
    rows = {}
    torch.set_num_threads(2)
    for name, (file, calls) in SYSTEMS.items():
        rows[f"force call, {name}"] = force_calls(file, calls)
        print(name, json.dumps(rows[f"force call, {name}"]), flush=True)
    torch.set_num_threads(1)
    acac = "training step, acac (gaunt-acac's settings, batch of 2)"
    rows[acac] = training_step("gaunt-acac", ROOT.parent / "shared" / "data" / "acac" / "train_300K.xyz")
    print(acac, json.dumps(rows[acac]), flush=True)
    meta = {**provenance(2), "time": time.strftime("%Y-%m-%d %H:%M")}
    (ROOT / "benchmarks" / "results" / "contraction_layout.json").write_text(
        json.dumps({"meta": meta, **rows}, indent=1)
    )
    lines = [
        f"The convolution's Gaunt contraction ({meta['time']}): on atoms after transposing the neighbour sum's "
        "output (before 2026-12-07) against on its (atom, radial group) rows, transposing only the contraction's "
        "output (now). The same model compiled both ways in one process, medians over "
        f"{ROUNDS} interleaved rounds: force calls through compiled calculators (2 threads, the default model, "
        "float32, random weights) and the compiled training step (one thread, loss and gradients of a batch of 2). "
        "Difference: the largest force difference (eV/Å), or the largest gradient difference over the largest "
        "gradient. Rerun: `python benchmarks/contraction_layout.py`.",
        "",
        "| call | before ms | now ms | speed-up | difference |",
        "|---|---|---|---|---|",
        *(
            f"| {n} | {r['old_ms']:.2f} | {r['new_ms']:.2f} | {r['speedup']:.2f}x | {r['difference']:.1e} |"
            for n, r in rows.items()
        ),
    ]
    write_section(
        ROOT / "docs" / "performance.md", "contraction_layout", "The Gaunt contraction per radial group", lines
    )


if __name__ == "__main__":
    main()
