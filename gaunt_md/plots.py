"""The PNG pictures gaunt-md writes: parity plots, learning curves, MD energy and temperature."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .errors import UNITS


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, png: str | Path) -> None:
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    pyplot().close(fig)


def parity_plot(
    ref_energy: np.ndarray,
    pred_energy: np.ndarray,
    ref_forces: np.ndarray,
    pred_forces: np.ndarray,
    metrics: dict[str, float],
    png: str | Path,
    title: str,
    stress: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Predicted against reference: energies per atom (eV/atom, relative to the reference mean, so
    the ticks stay readable), force components (eV/Å) and, given ``stress`` (reference, predicted
    components in GPa), stress components; each with y = x, equal axes, RMSE and MAE."""
    mean = float(np.mean(ref_energy))
    panels = [
        ("energy - mean reference (meV/atom)", 1e3 * (ref_energy - mean), 1e3 * (pred_energy - mean), "energy"),
        ("force component (eV/Å)", ref_forces.ravel(), pred_forces.ravel(), "forces"),
    ]
    if stress is not None and np.size(stress[0]):
        panels.append(("stress component (GPa)", np.ravel(stress[0]), np.ravel(stress[1]), "stress"))
    fig, axes = pyplot().subplots(1, len(panels), figsize=(4.5 * len(panels), 4.4))
    for ax, (label, ref, pred, key) in zip(axes, panels):
        ax.scatter(ref, pred, s=4, alpha=0.5, linewidths=0)
        lo, hi = min(ref.min(), pred.min()), max(ref.max(), pred.max())
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, label="y = x")
        ax.set(
            xlim=(lo - pad, hi + pad),
            ylim=(lo - pad, hi + pad),
            aspect="equal",
            xlabel=f"reference {label}",
            ylabel=f"predicted {label}",
        )
        unit = UNITS[f"{key}_rmse"]
        ax.text(
            0.04,
            0.96,
            f"RMSE {metrics[f'{key}_rmse']:.3g} {unit}\nMAE {metrics[f'{key}_mae']:.3g} {unit}",
            transform=ax.transAxes,
            va="top",
        )
        ax.locator_params(nbins=5)
    axes[0].text(0.96, 0.04, f"mean reference {mean:.4f} eV/atom", transform=axes[0].transAxes, ha="right", fontsize=8)
    fig.suptitle(title)
    save(fig, png)


def learning_curve(log_csv: str | Path, png: str | Path) -> None:
    """Validation energy and force RMSE against epoch, from a fit's log.csv."""
    rows = list(csv.DictReader(Path(log_csv).read_text().splitlines()))
    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = pyplot().subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("energy_rmse", "forces_rmse")):
        ax.semilogy(epochs, [float(r[key]) for r in rows])
        ax.set(xlabel="epoch", ylabel=f"valid {key.split('_')[0]} RMSE ({UNITS[key]})")
    save(fig, png)


def md_log_plot(log_csv: str | Path, png: str | Path) -> bool:
    """Energies and temperature against time from an MD log; False (and no file) if it has no rows."""
    log_csv = Path(log_csv)
    rows = list(csv.DictReader(log_csv.open())) if log_csv.is_file() else []
    if not rows:
        return False
    t = [float(r["time_ps"]) for r in rows]
    fig, (a, b) = pyplot().subplots(2, 1, figsize=(7, 5), sharex=True)
    for key, label in (("epot_eV", "potential"), ("etot_eV", "total")):
        a.plot(t, [float(r[key]) for r in rows], label=label)
    a.set(ylabel="energy (eV)")
    a.legend()
    b.plot(t, [float(r["temperature_K"]) for r in rows], color="C3")
    b.set(xlabel="time (ps)", ylabel="temperature (K)")
    save(fig, png)
    return True
