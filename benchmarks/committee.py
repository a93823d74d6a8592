"""What a committee's force call costs against one model's, same architecture, in one run.

A committee of N members (1, 2, 4) with the architecture and weights of a shipped model (member k: the
weights perturbed by 1e-3 relative noise, seed k, so the spread is not zero), through
``GauntCalculator`` (float32, 2 threads): the acac test frame 0 (15 atoms, gaunt-acac) and the water
test frame 0 (64 H2O, 192 atoms, periodic, gaunt-water). Committee sizes interleaved in rounds after
warm-up rounds; recorded: the median call (ms) and the median over rounds of the ratio to one model
in the same round. Members share the neighbour graph and edge features and run batched, under one
``torch.vmap`` over their stacked weights (``gaunt_md.committee``); "4 in turn" is the reference without
either: the four members as four single models, called one after another. "Compiled N" is the same
committee through ``compile=True`` (the batched members traced and compiled as one graph,
``gaunt_md.compiled``), as a ratio to one compiled model; its first call (the compilation) is recorded
apart. "Products" replays only the
matrix products (mm, bmm) of one committee call of N members, back to back with no other operator
(``speed.matrix_products_of``): the committee's arithmetic floor on this CPU, as a ratio to one
model's products in the same round. Run it on a quiet machine:

    python benchmarks/committee.py            # ~5 min; results/committee.json and docs/performance.md
    python benchmarks/committee.py --device cuda   # on a GPU: results/committee_cuda.json, its own section

On a machine without ``../shared``, copy the two files' first frames and give ``--data DIR``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

import torch
from _docs import write_section
from _runs import ROOT, provenance
from ase.io import read
from speed import matrix_products_of

from gaunt_md import GauntCalculator
from gaunt_md.committee import Committee
from gaunt_md.hub import load_model

DATA = ROOT.parent / "shared" / "data"
SYSTEMS = {  # name: (model, file, calls per block)
    "acac (15 atoms)": ("gaunt-acac", "acac/test_MD_300K.xyz", 20),
    "water (192 atoms)": ("gaunt-water", "water/test.xyz", 3),
}
SIZES = (1, 2, 4)
IN_TURN = "4 in turn"  # the four members as single models, one after another
COMPILED = "compiled"  # "compiled N": N members through compile=True, against one compiled model
PRODUCTS = "products"  # the matrix products of one call of N members, replayed alone: "products N"
WARMUP_ROUNDS, ROUNDS = 2, 9


def members(name: str, n: int) -> list:
    out = []
    for k in range(n):
        model = load_model(name)
        generator = torch.Generator().manual_seed(k)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1e-3 * p.abs().mean() * torch.randn(p.shape, generator=generator, dtype=p.dtype))
        out.append(model)
    return out


def _one(contender: str) -> str:
    """The one-model contender that ``contender``'s ratio is taken against."""
    for kind in (PRODUCTS, COMPILED):
        if contender.startswith(kind):
            return f"{kind} 1"
    return "1"


def block(calc: GauntCalculator, atoms, calls: int) -> float:
    """Mean seconds of one energy-and-forces call over ``calls`` calls."""
    t0 = time.perf_counter()
    for _ in range(calls):
        calc.reset()
        calc.calculate(atoms, ["energy", "forces"])
    return (time.perf_counter() - t0) / calls


def in_turn(calcs: list[GauntCalculator], atoms, calls: int) -> float:
    """Seconds of one call of each of ``calcs``, one after another (each a block of ``calls``)."""
    return sum(block(calc, atoms, calls) for calc in calcs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--data", type=Path, default=DATA, help="where acac/ and water/ are (../shared/data)")
    args = parser.parse_args()
    device = args.device
    result = {**provenance(2), "device": _device_name(device), "systems": {}}
    settings = dict(dtype="float32", threads=2, device=device)
    for system, (name, path, calls) in SYSTEMS.items():
        atoms = read(args.data / path, 0)
        atoms.calc = None
        ms = members(name, max(SIZES))
        calcs = {n: GauntCalculator(ms[0] if n == 1 else Committee(ms[:n]), **settings) for n in SIZES}
        singles = [calcs[1]] + [GauntCalculator(m, **settings) for m in ms[1:]]
        contenders = {str(n): partial(block, calc) for n, calc in calcs.items()}
        contenders[IN_TURN] = partial(in_turn, singles)
        first_call_s = {}
        for n in (1, max(SIZES)):
            calc = GauntCalculator(ms[0] if n == 1 else Committee(ms[:n]), **settings, compile=True)
            first_call_s[n] = block(calc, atoms, 1)  # the compilation
            contenders[f"{COMPILED} {n}"] = partial(block, calc)
        for n, calc in calcs.items():
            replay = matrix_products_of(calc, atoms)
            contenders[f"{PRODUCTS} {n}"] = lambda _atoms, calls, replay=replay: replay(calls)
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for r in range(WARMUP_ROUNDS + ROUNDS):
            for k, timed in contenders.items():
                t = timed(atoms, calls)
                if r >= WARMUP_ROUNDS:
                    times[k].append(t)
        result["systems"][system] = {
            k: {
                "median_ms": 1e3 * statistics.median(times[k]),
                "ratio_to_one_model": statistics.median(a / b for a, b in zip(times[k], times[_one(k)])),
            }
            for k in contenders
        }
        result["systems"][system]["compile_first_call_s"] = first_call_s
        print(system, json.dumps(result["systems"][system]), flush=True)
    suffix = "" if device == "cpu" else f"_{device}"
    (ROOT / "benchmarks" / "results" / f"committee{suffix}.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"`{result['command']}` ({result['date']}, torch {result['torch']}, {result['device']}, float32): a "
        "force call of a committee of N members through `GauntCalculator`, median of "
        f"{ROUNDS} interleaved rounds, and its ratio to one model in the same round. The members share the "
        "neighbour graph and edge features and run batched, under one `torch.vmap` over their stacked weights; "
        f"{IN_TURN}: the four members as single models called one after another (no sharing, no batching). "
        f"Compiled: through `compile=True` (the batched members traced and compiled as one graph), the ratio to "
        "one compiled model in the same round; the first call's seconds (the compilation) in brackets. "
        f"Matrix products: the mm/bmm operators of one call of N members replayed alone, back to back (the "
        "arithmetic floor), and their ratio to one model's in the same round.",
        "",
        "| system | "
        + " | ".join(f"N = {n}" for n in SIZES)
        + f" | {IN_TURN} | compiled, N = 1 | compiled, N = {max(SIZES)} | "
        + " | ".join(f"matrix products, N = {n}" for n in SIZES)
        + " |",
        "|---|" + "---|" * (2 * len(SIZES) + 3),
    ]
    for system, row in result["systems"].items():
        compiled = [f"{COMPILED} 1", f"{COMPILED} {max(SIZES)}"]
        cells = [
            f"{row[k]['median_ms']:.1f} ms ({row[k]['ratio_to_one_model']:.2f}x)"
            + (f" [{row['compile_first_call_s'][int(k.split()[1])]:.0f} s]" if k in compiled else "")
            for k in [*map(str, SIZES), IN_TURN, *compiled, *(f"{PRODUCTS} {n}" for n in SIZES)]
        ]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    if device == "cpu":
        write_section(ROOT / "docs" / "performance.md", "committee", "Committees", lines)
    else:
        write_section(
            ROOT / "docs" / "performance.md", f"committee-{device}", f"Committees on {result['device']}", lines
        )


def _device_name(device: str) -> str:
    """What ran the calls, in words: the GPU's name, or the CPU threads."""
    return torch.cuda.get_device_name() if device == "cuda" else "2 threads, quiet machine"


if __name__ == "__main__":
    main()
