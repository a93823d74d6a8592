"""The report of ``benchmarks/tensor_product.py``: its plot and its markdown table (docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gaunt_md.so3 import BACKENDS

BATCH, CHANNELS = 256, 32
CONTENDERS = ("e3nn",) + tuple(BACKENDS)
BRACKET = "grid+bracket"  # product + bracket from one grid pass, compared with the grid product
BRACKET_RATIO_MAX = 2.5  # target: (product + bracket) / product ≤ 2.5 at every L
SLOPE_RANGE, SLOPE_MAX = (4, 10), 3.3  # "no faster than ~L^3": fitted slope at most 3.3


def summarise(entry: dict) -> None:
    gaunt = {b: entry[b]["median_ms"] for b in BACKENDS if entry[b]["median_ms"] is not None}
    entry["best_gaunt"] = min(gaunt, key=gaunt.__getitem__)
    entry["speedup"] = entry["e3nn"]["median_ms"] / gaunt[entry["best_gaunt"]]
    entry["bracket_ratio"] = entry[BRACKET]["median_ms"] / entry["grid"]["median_ms"]


def grid_slope(results: list[dict]) -> float | None:
    """Log-log slope of the grid backend's time over L in SLOPE_RANGE (None with < 2 points)."""
    pts = [(r["L"], r["grid"]["median_ms"]) for r in results if SLOPE_RANGE[0] <= r["L"] <= SLOPE_RANGE[1]]
    if len(pts) < 2:
        return None
    ls, ts = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(ls, ts, 1)[0])


def plot(results: list[dict], path: Path) -> None:
    from gaunt_md.plots import pyplot, save

    fig, ax = pyplot().subplots(figsize=(6.4, 4.8))
    for name, marker in zip(CONTENDERS, "osd^"):
        pts = [(r["L"], r[name]["median_ms"]) for r in results if r[name]["median_ms"] is not None]
        ax.plot(*zip(*pts), marker=marker, label=name if name == "e3nn" else f"Gaunt ({name})")
    ax.plot(
        [r["L"] for r in results],
        [r[BRACKET]["median_ms"] for r in results],
        marker="v",
        ls=":",
        label="Gaunt (grid) product + bracket",
    )
    top = results[-1]
    ls = np.array([r["L"] for r in results], dtype=float)
    ax.plot(ls, top["grid"]["median_ms"] * (ls / top["L"]) ** 3, "k--", lw=1, label=r"$\propto L^3$")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="L (inputs of degree L, output 2L)",
        ylabel="forward + backward (ms)",
        title=f"{BATCH} x {CHANNELS} channels, float32, CPU, {torch.get_num_threads()} threads",
    )
    ax.set_xticks(ls, [str(int(l)) for l in ls])
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    save(fig, path)


def markdown(report: dict) -> list[str]:
    top = report["results"][-1]
    results, m = report["results"], report["machine"]

    def fmt(v: float | None) -> str:
        return "skipped" if v is None else f"{v:.{2 if v < 10 else 1 if v < 100 else 0}f}"

    rows = [
        "| L | e3nn ms | grid ms | fourier ms | dense ms | best Gaunt backend | speed-up = e3nn/best "
        "| grid product + bracket ms | (product + bracket) / product |",
        "|---:|---:|---:|---:|---:|:---|---:|---:|---:|",
    ]
    for r in results:
        cells = [fmt(r[c]["median_ms"]) for c in CONTENDERS]
        rows.append(
            f"| {r['L']} | {' | '.join(cells)} | {r['best_gaunt']} | {r['speedup']:.1f}x "
            f"| {fmt(r[BRACKET]['median_ms'])} | {r['bracket_ratio']:.2f}x |"
        )
    skips = [
        f"{c} at L = {r['L']} ({r[c]['skipped']})" for r in results for c in CONTENDERS if r[c]["median_ms"] is None
    ]
    lines = ["Skipped: " + "; ".join(skips) + ".", ""] if skips else []
    lines.append("Targets:\n")
    for t in report["targets"]:
        if t["speedup"] is None:
            lines.append(f"- L = {t['L']}: best Gaunt ≥ {t['required']:g}x e3nn — not measured in this run.")
        else:
            ok = "met" if t["met"] else "**not met**"
            lines.append(
                f"- L = {t['L']}: best Gaunt ≥ {t['required']:g}x e3nn — {ok} ({t['speedup']:.1f}x, {t['best']})."
            )
    b = report["bracket_target"]
    ok = "met" if b["met"] else "**not met**"
    lines.append(
        f"- Product + bracket (all CG paths, odd ones from the Poisson bracket, one grid pass) ≤ "
        f"{BRACKET_RATIO_MAX:g}x the product alone at every L — {ok} (largest {b['max_ratio']:.2f}x at "
        f"L = {b['at_L']})."
    )
    s = report["grid_slope"]
    if s is None:
        lines.append(f"- Cost growth ≤ ~L^3 — not measured (needs L in {SLOPE_RANGE[0]}..{SLOPE_RANGE[1]}).")
    else:
        ok = "met" if s <= SLOPE_MAX else "**not met**"
        lines.append(
            f"- Cost growth ≤ ~L^3 (fitted log-log slope ≤ {SLOPE_MAX}) — {ok}: the grid backend's "
            f"time grows as L^{s:.2f} over L = {SLOPE_RANGE[0]}..{min(SLOPE_RANGE[1], results[-1]['L'])}."
        )
    return [
        f"Forward + backward time of one product of two degree-L inputs into a degree-2L output for "
        f"{BATCH} vectors x {CHANNELS} channels (float32, CPU, {m['threads']} threads, {m['cpu']}, torch "
        f"{m['torch']}, e3nn {m['e3nn']}, {m['date']}). e3nn is `o3.TensorProduct` with every allowed "
        f'path as a `"uuu"` instruction (its path weights get gradients too; construction not timed); '
        f"the Gaunt backends are `GauntProduct(L, L, 2L, backend)`; 'grid product + bracket' is "
        f"`GauntBracket(L, L, 2L-1, 'grid', product_lmax_out=2L)`, the product and the odd-path bracket "
        f"from one grid transform of each input. The contenders alternate within each "
        f"repeat and the table shows medians over repeats, so machine load affects all of them alike; "
        f"`dense`, the reference, is timed in a last phase after every L (its GiB temporaries slow the "
        f"calls after it; see the script's docstring). Single samples scatter by up to ~1.5x on this "
        f"shared machine (grid at L = {top['L']}: {min(top['grid']['samples_ms']):.0f}-"
        f"{max(top['grid']['samples_ms']):.0f} ms over {top['repeats']} repeats). "
        f"Rerun with `{report['command']}` (this run took {report['total_s'] / 60:.1f} min); raw numbers "
        f"are in `benchmarks/results/tensor_product.json`, the plot in `benchmarks/results/tensor_product.png`.",
        "",
        *rows,
        "",
        *lines,
        "",
        "![time vs L](../benchmarks/results/tensor_product.png)",
    ]
