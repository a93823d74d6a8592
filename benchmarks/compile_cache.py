"""Compilation in a later process: inductor's on-disk graph cache against compiling again.

``gaunt_md.compiled.compile_graph`` compiles inside a tracing context with a shape env, without which
inductor skips its graph cache ("No shape env") and a later process only finds the cached kernels: it
still generates the whole graph's code and builds its C++ wrapper. Each case runs in three fresh
processes that share one new cache folder (``TORCHINDUCTOR_CACHE_DIR``): "first" (empty cache), "later"
(the cache that "first" left, as now), and "later, graph cache skipped" (the same cache, the tracing
context replaced by a null one: the behaviour before 2026-12-07). Cases: the first compiled force call
(``GauntCalculator(compile=True)``, float32, trace, compilation and the check against the eager model)
of gaunt-acac on an acac frame and of gaunt-water on a 192-atom water frame; and the compiled training
step of gaunt-acac's fit settings (one epoch of ``gaunt-md fit``, the seconds it reports for the step).
Run it alone on the machine: ``python benchmarks/compile_cache.py`` (~10 min); writes
``benchmarks/results/compile_cache.json`` and its table in ``docs/performance.md``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _docs import write_section
from _runs import provenance, shipped_config

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FORCE_CALLS = {
    "acac force call": ("gaunt-acac", "acac/test_MD_300K.xyz"),
    "water force call": ("gaunt-water", "water/test.xyz"),
}
MODES = ("first", "later", "later, graph cache skipped")


def skip_graph_cache() -> None:
    """In this process, compile as before 2026-12-07: without a tracing context, so inductor skips its graph cache."""
    import contextlib

    import torch

    torch._guards.tracing = lambda context: contextlib.nullcontext()


def force_call_seconds(model: str, file: str) -> float:
    """Seconds of the first compiled force call of ``model`` on frame 0 of ``file`` (in this process)."""
    from ase.io import read

    from gaunt_md import GauntCalculator

    atoms = read(DATA / file, 0)
    atoms.calc = GauntCalculator(model, compile=True, threads=2)
    start = time.perf_counter()
    atoms.get_forces()
    return time.perf_counter() - start


def training_step_seconds(cache: str) -> float:
    """The seconds ``gaunt-md fit`` reports for compiling gaunt-acac's training step (one epoch, in this process)."""
    import contextlib
    import io

    from gaunt_md.cli import main as cli

    config = shipped_config("gaunt-acac")
    config.update(output=str(Path(cache) / "fit"), train=str(DATA / "acac" / "train_300K.xyz"), valid=None, test=None)
    config.update(e0s=str(DATA / "acac" / "isolated_atoms.xyz"), epochs=1, max_minutes=None, threads=1)
    path = Path(cache) / "fit.yaml"
    path.write_text(json.dumps(config))
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        cli(["fit", "--config", str(path), "--threads", "1", "--force"], standalone_mode=False)
    return float(re.search(r"compiled the training step .* in ([0-9.]+) s", log.getvalue()).group(1))


def child(case: str, cache: str, skip: bool) -> None:
    """One case's compilation in this (fresh) process; prints its seconds."""
    if skip:
        skip_graph_cache()
    seconds = force_call_seconds(*FORCE_CALLS[case]) if case in FORCE_CALLS else training_step_seconds(cache)
    print(json.dumps(seconds))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":  # --child CASE CACHE skip|use
        child(sys.argv[2], sys.argv[3], sys.argv[4] == "skip")
        return
    results = {}
    for case in [*FORCE_CALLS, "acac training step"]:
        with tempfile.TemporaryDirectory() as cache:
            results[case] = {}
            env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
            for mode in MODES:
                args = [sys.executable, __file__, "--child", case, cache, "skip" if mode.endswith("skipped") else "use"]
                run = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
                seconds = float(run.stdout.strip().splitlines()[-1])
                results[case][mode] = seconds
                print(f"{case}, {mode}: {seconds:.1f} s", flush=True)
    out = {"meta": provenance(2), "seconds": results}
    (ROOT / "benchmarks" / "results" / "compile_cache.json").write_text(json.dumps(out, indent=2))
    meta = out["meta"]
    lines = [
        f"`python benchmarks/compile_cache.py` ({meta['date']}, torch {meta['torch']}, float32, quiet machine): seconds of "
        "a compilation in three fresh processes sharing one new inductor cache folder: the first (empty cache), a later "
        "one (now: the compiled graph is loaded from inductor's graph cache), and a later one with the graph cache "
        "skipped as before 2026-12-07 (only the kernels are cached). Force calls: the first `GauntCalculator(compile=True)` "
        "call (trace, compilation, check against the eager model; 2 threads); training step: the compilation that "
        "`gaunt-md fit` reports for gaunt-acac's settings (one thread).",
        "",
        "| case | first process s | later process s | later, graph cache skipped s |",
        "|---|---|---|---|",
        *(f"| {case} | {r[MODES[0]]:.1f} | {r[MODES[1]]:.1f} | {r[MODES[2]]:.1f} |" for case, r in results.items()),
    ]
    write_section(ROOT / "docs" / "performance.md", "compile_cache", "Compilation in a later process", lines)


if __name__ == "__main__":
    main()
