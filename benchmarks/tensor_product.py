"""Forward+backward time of the Gaunt tensor product backends against e3nn's channel-wise CG product.

For L = 1..--lmax, each contender maps two degree-L inputs (256 vectors x 32 channels, float32,
CPU) to a degree-2L output, timed forward + backward (fixed random grad_output, inputs need grad):

- ``e3nn``: ``o3.TensorProduct(irreps, irreps, irreps_out, instructions)``, irreps = 32x0e+32x1o+
  32x2e+... up to L (up to 2L for irreps_out), every allowed path (l1+l2+l3 even) as
  ``(i1, i2, i3, "uuu", True)``, inputs ``[256, irreps.dim]``; its path weights get gradients too.
  Its construction time is recorded separately, never timed.
- ``grid``, ``fourier``, ``dense``: ``gaunt_md.so3.GauntProduct(L, L, 2L, backend)`` on
  inputs ``[256, 32, (L+1)**2]``.
- ``grid+bracket``: the Gaunt product (to 2L) and the Poisson bracket (the odd paths, to 2L-1) from
  one grid transform of each input, ``gaunt_md.so3.experimental.GauntBracket(L, L, 2L-1, "grid",
  product_lmax_out=2L)``; reported as the ratio (product + bracket) / (product alone, ``grid``),
  target ≤ 2.5x at every L.

Measurements are interleaved: after a warm-up, each repeat times every contender once (in rotating
order) and the median over repeats is reported. Fast calls are looped so that a sample lasts
≥ ~50 ms. Repeats per L come from the warm-up so that each L takes about --budget s (5 to 60),
unless --repeats is given. ``dense``, the O(L^6) reference, is timed in a last phase after every L
(--budget / 4 s per L, at least 3 repeats): its temporaries reach GiBs at L ≥ 7, and on this
machine the calls after it ran up to 2x slower for a while (the grid product at L = 10: 77 ms in a
run without dense, 81-133 ms interleaved with it, 134 ms with dense timed at the end of each L;
e3nn's calls did not change). It is skipped (null, with a reason) where it would need more than 20 s per call or too much memory.

Writes benchmarks/results/tensor_product.{json,png} and the table between the
``<!-- tensor_product:start/end -->`` markers of docs/performance.md. Rerun with (~20 min, 2 threads):

    python benchmarks/tensor_product.py            # full run, L = 1..10
    python benchmarks/tensor_product.py --quick    # smoke run, L = 1..3, 2 repeats
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import e3nn  # noqa: E402
from _docs import write_section  # noqa: E402
from e3nn import o3  # noqa: E402
from tensor_product_report import (  # noqa: E402
    BATCH,
    BRACKET,
    BRACKET_RATIO_MAX,
    CHANNELS,
    CONTENDERS,
    SLOPE_MAX,
    SLOPE_RANGE,
    grid_slope,
    markdown,
    plot,
    summarise,
)

from gaunt_md.so3 import BACKENDS, GauntProduct  # noqa: E402
from gaunt_md.so3.experimental import GauntBracket  # noqa: E402

DENSE_MAX_S = 20.0  # skip dense beyond this many seconds per call
TARGETS = {2: 1.0, 6: 5.0, 10: 20.0}  # L -> required speed-up of the best Gaunt backend over e3nn


def e3nn_product(lmax: int) -> tuple[o3.TensorProduct, float]:
    """e3nn's channel-wise ("uuu") product up to degree L → 2L, and its construction time in s."""
    irreps = o3.Irreps([(CHANNELS, (l, (-1) ** l)) for l in range(lmax + 1)])
    irreps_out = o3.Irreps([(CHANNELS, (l, (-1) ** l)) for l in range(2 * lmax + 1)])
    instructions = [
        (i1, i2, i3, "uuu", True)
        for i1, (_, a) in enumerate(irreps)
        for i2, (_, b) in enumerate(irreps)
        for i3, (_, c) in enumerate(irreps_out)
        if abs(a.l - b.l) <= c.l <= a.l + b.l and (a.l + b.l + c.l) % 2 == 0
    ]
    start = time.perf_counter()
    tp = o3.TensorProduct(irreps, irreps, irreps_out, instructions)
    return tp, time.perf_counter() - start


def make_step(
    module: torch.nn.Module, shape: tuple[int, ...], out_dims: int | tuple[int, ...], seed: int
) -> Callable[[], None]:
    """One forward + backward of ``module`` on fixed random inputs and grad_output(s); a tuple of
    ``out_dims`` is for a module that returns a tuple of outputs."""
    gen = torch.Generator().manual_seed(seed)
    x1, x2 = (torch.randn(shape, generator=gen).requires_grad_() for _ in range(2))
    grads = [
        torch.randn(*shape[:-1], d, generator=gen) for d in (out_dims if isinstance(out_dims, tuple) else (out_dims,))
    ]

    def step() -> None:
        x1.grad = x2.grad = None
        module.zero_grad(set_to_none=True)
        out = module(x1, x2)
        torch.autograd.backward(out if isinstance(out, tuple) else (out,), grads)

    return step


def seconds(step: Callable[[], None], number: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(number):
        step()
    return (time.perf_counter() - start) / number


def dense_skip(lmax: int, previous: dict | None) -> str | None:
    """Why ``dense`` should not run at degree L (memory, or time extrapolated from L-1), or None."""
    need = 5 * BATCH * CHANNELS * (lmax + 1) ** 4 * 4  # outer product, its grad and temporaries
    if need > 0.5 * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"):
        return f"needs ~{need / 2**30:.1f} GiB"
    if previous is None:
        return None
    prev = previous["dense"]["median_ms"]
    if prev is None:
        return f"skipped at L = {lmax - 1}"
    flops = lambda l: (l + 1) ** 4 * (2 * l + 1) ** 2  # noqa: E731
    guess = prev * 1e-3 * flops(lmax) / flops(lmax - 1)
    return f"predicted {guess:.0f} s per call > {DENSE_MAX_S:.0f} s" if guess > DENSE_MAX_S else None


def _time_interleaved(steps: dict[str, Callable[[], None]], args: argparse.Namespace, entry: dict) -> None:
    """Warm up, then time the steps in interleaved repeats (rotating order); medians into ``entry``."""
    number: dict[str, int] = {}
    for name, step in list(steps.items()):
        t = seconds(step)  # warm-up (e3nn compiles its code on the first call)
        t = t if t > DENSE_MAX_S else min(t, seconds(step))
        if name == "dense" and t > DENSE_MAX_S:
            entry[name] = {"median_ms": None, "skipped": f"{t:.1f} s per call > {DENSE_MAX_S:.0f} s"}
            del steps[name]
            continue
        number[name] = max(1, min(100, math.ceil(0.05 / max(t, 1e-6))))
    if not steps:
        return
    per_repeat = sum(seconds(step) * number[n] for n, step in steps.items())
    budget = args.budget / 4 if "dense" in steps else args.budget
    repeats = args.repeats or max(3 if "dense" in steps else 5, min(60, int(budget / per_repeat)))
    names, samples = list(steps), {name: [] for name in steps}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
            samples[name].append(1e3 * seconds(steps[name], number[name]))
    entry.setdefault("repeats", repeats)
    for name in steps:
        entry[name] = {
            "median_ms": statistics.median(samples[name]),
            "calls_per_sample": number[name],
            "samples_ms": [round(s, 4) for s in samples[name]],
        }


def measure_l(lmax: int, args: argparse.Namespace) -> dict:
    """Build, warm up and time every contender but ``dense`` at degree L (interleaved repeats)."""
    gc.collect()
    n_in, n_out = (lmax + 1) ** 2, (2 * lmax + 1) ** 2
    tp, construct = e3nn_product(lmax)
    entry: dict = {"L": lmax, "e3nn_construct_s": construct}
    steps = {"e3nn": make_step(tp, (BATCH, tp.irreps_in1.dim), tp.irreps_out.dim, seed=lmax)}
    for backend in BACKENDS:
        if backend == "dense":
            continue
        start = time.perf_counter()
        module = GauntProduct(lmax, lmax, 2 * lmax, backend).to(torch.float32)
        entry[f"{backend}_construct_s"] = time.perf_counter() - start
        steps[backend] = make_step(module, (BATCH, CHANNELS, n_in), n_out, seed=lmax)
    start = time.perf_counter()
    module = GauntBracket(lmax, lmax, 2 * lmax - 1, "grid", product_lmax_out=2 * lmax).to(torch.float32)
    entry[f"{BRACKET}_construct_s"] = time.perf_counter() - start
    steps[BRACKET] = make_step(module, (BATCH, CHANNELS, n_in), (n_out, (2 * lmax) ** 2), seed=lmax)
    _time_interleaved(steps, args, entry)
    return entry


def measure_dense(entry: dict, args: argparse.Namespace, previous: dict | None) -> None:
    """Time the dense reference at degree ``entry["L"]`` (in the last phase, see the docstring)."""
    gc.collect()
    lmax = entry["L"]
    reason = dense_skip(lmax, previous)
    if reason is not None:
        entry["dense"] = {"median_ms": None, "skipped": reason}
        return
    start = time.perf_counter()
    module = GauntProduct(lmax, lmax, 2 * lmax, "dense").to(torch.float32)
    entry["dense_construct_s"] = time.perf_counter() - start
    step = make_step(module, (BATCH, CHANNELS, (lmax + 1) ** 2), (2 * lmax + 1) ** 2, seed=lmax)
    _time_interleaved({"dense": step}, args, entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lmax", type=int, default=10, help="largest input degree L (default 10)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per L (default: from --budget)")
    parser.add_argument("--budget", type=float, default=150.0, help="seconds of timing per L when --repeats is unset")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results", help="results directory")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md", help="markdown file to update")
    parser.add_argument("--quick", action="store_true", help="smoke run: L = 1..3, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.lmax, args.repeats = min(args.lmax, 3), 2
    torch.set_num_threads(args.threads)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    report: dict = {
        "machine": {
            "torch": torch.__version__,
            "e3nn": e3nn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "cpu": cpu,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        },
        "setup": {
            "batch": BATCH,
            "channels": CHANNELS,
            "lmax_out": "2L",
            "dtype": "float32",
            "device": "cpu",
            "timed": "forward + backward(fixed random grad_output)",
            "statistic": "median over repeats",
            BRACKET: "GauntBracket(L, L, 2L-1, 'grid', product_lmax_out=2L) vs GauntProduct(L, L, 2L, 'grid')",
        },
        "command": "python benchmarks/tensor_product.py" + " ".join([""] + sys.argv[1:]),
        "results": [],
    }
    start = time.perf_counter()
    for lmax in range(1, args.lmax + 1):
        entry = measure_l(lmax, args)
        report["results"].append(entry)
        times = ", ".join(f"{c} {entry[c]['median_ms']:.2f}" for c in CONTENDERS + (BRACKET,) if c != "dense")
        print(
            f"L={lmax:2d} ({entry['repeats']} repeats, {time.perf_counter() - start:.0f} s): {times} ms; "
            f"e3nn/grid = {entry['e3nn']['median_ms'] / entry['grid']['median_ms']:.1f}x; "
            f"(product+bracket)/product = {entry[BRACKET]['median_ms'] / entry['grid']['median_ms']:.2f}x",
            flush=True,
        )
    for i, entry in enumerate(report["results"]):  # the dense reference, last: see the module docstring
        measure_dense(entry, args, report["results"][i - 1] if i else None)
        summarise(entry)
        print(
            f"L={entry['L']:2d} dense {entry['dense']['median_ms'] or float('nan'):.2f} ms; "
            f"e3nn/{entry['best_gaunt']} = {entry['speedup']:.1f}x",
            flush=True,
        )
    by_l = {r["L"]: r for r in report["results"]}
    report["targets"] = [  # None where L was not measured
        {
            "L": l,
            "required": req,
            "speedup": r and r["speedup"],
            "best": r and r["best_gaunt"],
            "met": r and r["speedup"] >= req,
        }
        for l, req in TARGETS.items()
        for r in [by_l.get(l)]
    ]
    worst = max(report["results"], key=lambda r: r["bracket_ratio"])
    report["bracket_target"] = {
        "max_ratio": worst["bracket_ratio"],
        "at_L": worst["L"],
        "required_max": BRACKET_RATIO_MAX,
        "met": worst["bracket_ratio"] <= BRACKET_RATIO_MAX,
        "ratio_by_L": {r["L"]: r["bracket_ratio"] for r in report["results"]},
    }
    slope = grid_slope(report["results"])
    report["grid_slope"], report["grid_slope_range"] = slope, list(SLOPE_RANGE)
    report["grid_slope_met"] = None if slope is None else slope <= SLOPE_MAX
    report["total_s"] = time.perf_counter() - start
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "tensor_product.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report["results"], args.output / "tensor_product.png")
    write_section(args.docs, "tensor_product", "Gaunt tensor product vs e3nn", markdown(report))
    print(f"grid slope over L={SLOPE_RANGE[0]}..{SLOPE_RANGE[1]}: {slope}; total {report['total_s']:.0f} s")


if __name__ == "__main__":
    main()
