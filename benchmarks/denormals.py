"""Float32 force calls of gaunt-mlearn-Mo 1.6 with its weights as saved, with the negligible ones zeroed, and with
denormals flushed to zero by the CPU.

A fit's Adam with weight decay drives the weights that the data leaves without gradient geometrically towards zero;
the Mo file holds 530 weights below 1e-30 and some 2500 more below 1e-10 (fitted before gaunt-md 0.3.13 flushed
denormals in fits). In float32 their products are denormal
numbers, which x86 CPUs handle by microcode assists, many times slower. ``GauntForceField.load`` zeroes weights below
``gaunt_md.model.NEGLIGIBLE``; ``gaunt-md fit`` runs with denormals flushed (``gaunt_md.runtime.flush_denormals``).
This times the largest test cell of mlearn Mo on one thread, in interleaved rounds, three ways: the weights as saved,
as loaded (negligible ones zeroed), and as loaded with ``torch.set_flush_denormal(True)``.

    python benchmarks/denormals.py      # ~1 min: benchmarks/results/denormals.json, docs/performance.md
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from ase.io import read

from gaunt_md import GauntForceField
from gaunt_md.data import structure_graph
from gaunt_md.model import read_model_file

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "models" / "gaunt-mlearn-Mo-1.6.pt"
ROUNDS, CALLS = 8, 5


def main() -> None:
    torch.set_num_threads(1)
    loaded = GauntForceField.load(FILE)
    saved = GauntForceField.load(FILE)
    raw = read_model_file(FILE, "cpu")["state_dict"]
    with torch.no_grad():
        for name, p in saved.named_parameters():
            p.copy_(raw[name])
    models = {"as saved": saved.float().eval(), "as loaded": loaded.float().eval()}
    atoms = max(read(ROOT.parent / "shared" / "data" / "mlearn" / "Mo" / "test.xyz", ":"), key=len)
    graph = structure_graph(atoms, loaded.config.r_max, loaded.species_of, torch.float32)
    ways = {"as saved": ("as saved", False), "as loaded": ("as loaded", False), "as loaded, FTZ": ("as loaded", True)}
    times = {way: [] for way in ways}
    for r in range(ROUNDS + 1):
        for way, (model, flush) in ways.items():
            torch.set_flush_denormal(flush)
            start = time.perf_counter()
            for _ in range(CALLS):
                models[model](graph, compute_forces=True)
            if r:
                times[way].append(1e3 * (time.perf_counter() - start) / CALLS)
    torch.set_flush_denormal(False)
    rows = {way: statistics.median(t) for way, t in times.items()}
    ratios = {way: statistics.median(a / b for a, b in zip(times["as saved"], t)) for way, t in times.items()}
    meta = {"torch": torch.__version__, "threads": 1, "time": time.strftime("%Y-%m-%d %H:%M")}
    out = {"meta": meta, "ms": rows, "speedup_over_saved": ratios}
    (ROOT / "benchmarks" / "results" / "denormals.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out))
    lines = [
        f"A float32 force call of gaunt-mlearn-Mo 1.6 on a {len(atoms)}-atom mlearn Mo test cell, one thread "
        f"({meta['time']}), medians of {ROUNDS} interleaved rounds of {CALLS} calls. "
        "Rerun: `python benchmarks/denormals.py`.",
        "",
        "| weights | ms per call | speed-up |",
        "|---|---|---|",
        *(f"| {way} | {rows[way]:.1f} | {ratios[way]:.2f}x |" for way in ways),
    ]
    write_section(ROOT / "docs" / "performance.md", "denormals", "Denormal numbers", lines)


if __name__ == "__main__":
    main()
