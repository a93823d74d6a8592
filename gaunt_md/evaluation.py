"""``gaunt-md eval``: errors of a model on labelled files, per file and per config_type."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .calculator import GauntCalculator
from .data import Frame


def predictions(calc: GauntCalculator, frames: list[Frame]) -> list[dict]:
    """Predicted energy (eV), forces (eV/Å) and, for periodic frames, stress [3, 3] of each frame."""
    out = []
    for frame in frames:
        calc.reset()
        calc.calculate(frame.atoms, ["energy", "forces"])
        out.append({"energy": calc.results["energy"], "forces": calc.results["forces"], "stress": calc.results.get("stress")})
    return out


def error_table(frames: list[Frame], preds: list[dict]) -> dict[str, dict[str, float]]:
    """{group: metrics} for the group "all" and each config_type; energies in meV/atom (and meV per
    structure, ``energy_total_*``), forces in
    meV/Å, stress in meV/Å^3 (only frames with reference stress)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(frames):
        groups["all"].append(i)
        groups[f.config_type].append(i)
    if len(groups) == 2:  # one config_type: the same as "all"
        groups = {"all": groups["all"]}
    table = {}
    for name, idx in groups.items():
        e = np.array([(preds[i]["energy"] - frames[i].energy) / len(frames[i].atoms) for i in idx])
        et = np.array([preds[i]["energy"] - frames[i].energy for i in idx])
        f = np.concatenate([(preds[i]["forces"] - frames[i].forces).ravel() for i in idx])
        row = {"frames": len(idx), "energy_rmse": 1e3 * np.sqrt(np.mean(e**2)), "energy_mae": 1e3 * np.mean(np.abs(e)),
               "energy_total_rmse": 1e3 * np.sqrt(np.mean(et**2)), "energy_total_mae": 1e3 * np.mean(np.abs(et)),
               "forces_rmse": 1e3 * np.sqrt(np.mean(f**2)), "forces_mae": 1e3 * np.mean(np.abs(f))}
        s = [(preds[i]["stress"], frames[i].stress) for i in idx if frames[i].stress is not None and preds[i]["stress"] is not None]
        if s:
            from ase.stress import voigt_6_to_full_3x3_stress

            ds = np.concatenate([(voigt_6_to_full_3x3_stress(p) - r).ravel() for p, r in s])
            row |= {"stress_rmse": 1e3 * np.sqrt(np.mean(ds**2)), "stress_mae": 1e3 * np.mean(np.abs(ds))}
        table[name] = row
    return table


def parity_plot(frames: list[Frame], preds: list[dict], png: Path, title: str) -> None:
    """Energy per atom and force-component parity plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref_e = np.array([f.energy / len(f.atoms) for f in frames])
    pred_e = np.array([p["energy"] / len(f.atoms) for f, p in zip(frames, preds)])
    ref_f = np.concatenate([f.forces.ravel() for f in frames])
    pred_f = np.concatenate([p["forces"].ravel() for p in preds])
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, ref, pred, label in ((axes[0], ref_e, pred_e, "energy (eV/atom)"), (axes[1], ref_f, pred_f, "force component (eV/Å)")):
        ax.scatter(ref, pred, s=3, alpha=0.5)
        lo, hi = min(ref.min(), pred.min()), max(ref.max(), pred.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set(xlabel=f"reference {label}", ylabel=f"predicted {label}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
