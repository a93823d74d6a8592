"""What an epoch of ``gaunt-md fit --compile`` spends around its compiled training steps, before and after
gaunt-md 0.3.12: the validation pass (eager against ``gaunt_md.train.validation.CompiledValidation``) and
the EMA update (``AveragedModel.update_parameters`` against ``gaunt_md.train.step.update_ema``).

For each molecule (ethanol, acac, 3bpa: the shipped model's fit settings, model and validation split,
freshly initialised weights, one thread as the shipped fits run) the compiled validation pass is built
first (its compile time is reported), then the two contenders of each pair alternate in rounds after a
warm-up round. Reported: medians over rounds (ms per validation pass of the split, ms per EMA update)
and of the per-round ratios. Run it on a quiet machine.

    python benchmarks/fit_epoch.py      # ~3 min: benchmarks/results/fit_epoch.json, a table in docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from _docs import write_section
from _runs import provenance, shipped_config
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch_geometric.loader import DataLoader

from gaunt_md import GauntForceField
from gaunt_md.data import read_frames, validation_split
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.metrics import evaluate
from gaunt_md.train.step import update_ema
from gaunt_md.train.validation import CompiledValidation

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SYSTEMS = {  # name: (shipped model, training file)
    "ethanol (9 atoms)": ("gaunt-ethanol", DATA / "ethanol" / "train.xyz"),
    "acac (15 atoms)": ("gaunt-acac", DATA / "acac" / "train_300K.xyz"),
    "3bpa (27 atoms)": ("gaunt-3bpa", DATA / "3bpa" / "train_300K.xyz"),
}
ROUNDS, EMA_CALLS = 7, 50


def rounds(contenders: dict, repeat: int = 1) -> dict[str, list[float]]:
    """ms per call of each contender, per round (round 0 warms up and is dropped)."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for r in range(ROUNDS + 1):
        for name, call in contenders.items():
            t0 = time.perf_counter()
            for _ in range(repeat):
                call()
            if r:
                times[name].append(1e3 * (time.perf_counter() - t0) / repeat)
    return times


def summary(times: dict[str, list[float]], before: str, after: str) -> dict:
    ratios = [b / a for b, a in zip(times[before], times[after])]
    return {
        f"{before}_ms": statistics.median(times[before]),
        f"{after}_ms": statistics.median(times[after]),
        "speedup": statistics.median(ratios),
    }


def measure(name: str, file: Path) -> dict:
    cfg = shipped_config(name)
    torch.manual_seed(cfg["seed"])
    frames = read_frames(file, "energy", "forces", None)
    held_out, _ = validation_split(len(frames), cfg["valid_fraction"], cfg["seed"])
    elements = sorted({int(z) for f in frames for z in f.atoms.numbers})
    model = GauntForceField(elements, **cfg["model"]).float().train()
    graphs = [labelled_graph(frames[i], model.config.r_max, model.species_of, torch.float32) for i in held_out]
    batches = list(DataLoader(graphs, batch_size=cfg["batch_size"]))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg["ema_decay"]), use_buffers=True)
    compiled = CompiledValidation(model, batches, echo=lambda *a: None)
    t0 = time.perf_counter()
    evaluate(ema.module, batches, None, compiled)
    compile_s = time.perf_counter() - t0
    if not callable(compiled.call):
        raise RuntimeError("the validation pass did not compile")
    validation = rounds(
        {
            "eager": lambda: evaluate(ema.module, batches),
            "compiled": lambda: evaluate(ema.module, batches, None, compiled),
        }
    )
    averaging = rounds(
        {"averaged_model": lambda: ema.update_parameters(model), "foreach": lambda: update_ema(ema, model, 0.99)},
        EMA_CALLS,
    )
    return {
        "frames": len(graphs),
        "batches": len(batches),
        "compiled_batches": len(compiled.members),
        "compile_s": compile_s,
        "validation": summary(validation, "eager", "compiled"),
        "ema": summary(averaging, "averaged_model", "foreach"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = {}
    for name, (model, file) in SYSTEMS.items():
        rows[name] = measure(model, file)
        print(name, json.dumps(rows[name]), flush=True)
    meta = {**provenance(args.threads), "time": time.strftime("%Y-%m-%d %H:%M")}
    (ROOT / "benchmarks" / "results" / "fit_epoch.json").write_text(json.dumps({"meta": meta, **rows}, indent=1))
    lines = [
        f"Around the compiled training steps of an epoch ({meta['time']}, {args.threads} thread(s), each molecule's "
        "shipped fit settings and validation split, float32, fresh weights): the validation pass of the EMA model "
        "over the split, eagerly (gaunt-md ≤ 0.3.11) and through one compiled force call with the weights as inputs "
        "(`gaunt_md/train/validation.py`), and the EMA update, torch's `AveragedModel.update_parameters` against one "
        f"foreach lerp over the parameters (`update_ema`). Medians over {ROUNDS} interleaved rounds. Rerun: "
        "`python benchmarks/fit_epoch.py`.",
        "",
        "| system | validation frames | eager ms/pass | compiled ms/pass | speed-up | compile s | EMA before ms | EMA now ms | speed-up |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {n} | {r['frames']} | {r['validation']['eager_ms']:.0f} | {r['validation']['compiled_ms']:.0f} | "
            f"{r['validation']['speedup']:.2f}x | {r['compile_s']:.0f} | {r['ema']['averaged_model_ms']:.2f} | "
            f"{r['ema']['foreach_ms']:.2f} | {r['ema']['speedup']:.2f}x |"
            for n, r in rows.items()
        ),
    ]
    write_section(ROOT / "docs" / "performance.md", "fit_epoch", "Around the training step: validation and EMA", lines)


if __name__ == "__main__":
    main()
