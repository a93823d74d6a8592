"""How well a committee's spread predicts its error: per-atom force error against predicted std.

For each atom i of labelled frames, the error e_i = |F̄_i - F_i^ref| (eV/Å, the committee mean's
force error vector's length) and the predicted ``forces_std`` σ_i (eV/Å). A calibrated committee
has mean(e²) = mean(σ²); :func:`calibration_scale` is the one factor that makes it so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import Frame


def errors_and_stds(frames: list[Frame], preds: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom force error |F̄ - F_ref| and predicted ``forces_std`` (both eV/Å), all atoms of all frames."""
    errors = np.concatenate([np.linalg.norm(p["forces"] - f.forces, axis=1) for f, p in zip(frames, preds)])
    stds = np.concatenate([p["forces_std"] for p in preds])
    return errors, stds


def frame_max_stds(preds: list[dict]) -> np.ndarray:
    """The largest per-atom ``forces_std`` (eV/Å) of each frame: what uncertainty-gated MD compares
    with its threshold."""
    return np.array([p["forces_std"].max() for p in preds])


def gate_threshold(valid_frame_stds: np.ndarray) -> float:
    """The default threshold of uncertainty-gated MD (eV/Å): the largest per-frame force std among the
    validation frames, so that a frame is flagged when the committee is less sure of it than of any
    frame like its training data. (Twice the RMS error flagged 446 of 500 600 K frames of a weak acac
    committee: a per-atom error scale is too low for the largest atom of a frame.)"""
    return float(np.max(valid_frame_stds))


def calibration_scale(errors: np.ndarray, stds: np.ndarray) -> float:
    """The factor s with mean(e²) = mean((s σ)²), for errors e and stds σ of the same atoms."""
    return float(np.sqrt(np.mean(errors**2) / max(np.mean(stds**2), 1e-300)))


def uncertainty_metrics(errors: np.ndarray, stds: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman correlation of σ with e, RMS of each (meV/Å), their ratio (1 when
    calibrated), and the fraction of atoms whose error lies within 2σ (0.993 for a 3D Gaussian error
    of per-component spread σ/√3, whose length is Maxwell-distributed: P(χ²₃ ≤ 12))."""
    from scipy.stats import pearsonr, spearmanr

    return {
        "atoms": int(errors.size),
        "pearson": float(pearsonr(stds, errors)[0]),
        "spearman": float(spearmanr(stds, errors)[0]),
        "rms_error": 1e3 * float(np.sqrt(np.mean(errors**2))),
        "rms_std": 1e3 * float(np.sqrt(np.mean(stds**2))),
        "error_over_std": calibration_scale(errors, stds),
        "within_2_std": float(np.mean(errors <= 2 * stds)),
    }


def calibration_plot(errors: np.ndarray, stds: np.ndarray, png: str | Path, title: str, bins: int = 12) -> None:
    """Left: per-atom error against predicted std (log-log scatter). Right: RMS error in bins of
    predicted std (equal counts) against the bins' RMS std, with y = x (perfect calibration)."""
    from .plots import pyplot, save

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4.2))
    e, s = 1e3 * errors, 1e3 * stds
    floor = max(min(e[e > 0].min(initial=1.0), s[s > 0].min(initial=1.0)), 1e-3)
    ax1.scatter(np.maximum(s, floor), np.maximum(e, floor), s=2, alpha=0.3, rasterized=True)
    ax1.set(xscale="log", yscale="log", xlabel="predicted force std (meV/Å)", ylabel="force error |ΔF| (meV/Å)")
    order = np.argsort(s)
    groups = [g for g in np.array_split(order, min(bins, s.size)) if g.size]
    x = np.array([np.sqrt(np.mean(s[g] ** 2)) for g in groups])
    y = np.array([np.sqrt(np.mean(e[g] ** 2)) for g in groups])
    top = max(x.max(), y.max()) * 1.1
    ax2.plot([0, top], [0, top], "k--", lw=1, label="calibrated")
    ax2.plot(x, y, "o-", label=f"{len(groups)} bins of equal count")
    ax2.set(xlabel="RMS predicted std (meV/Å)", ylabel="RMS error (meV/Å)", xlim=(0, top), ylim=(0, top))
    ax2.legend(loc="upper left")
    r = uncertainty_metrics(errors, stds)
    fig.suptitle(f"{title}: Spearman {r['spearman']:.2f}, RMS error / RMS std {r['error_over_std']:.2f}")
    save(fig, png)
