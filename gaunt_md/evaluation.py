"""``gaunt-md eval``: errors of a model on labelled files, per file and per config_type."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .calculator import GauntCalculator
from .data import Frame
from .errors import UNITS, error_metrics
from .plots import parity_plot as _parity_plot


def predictions(calc: GauntCalculator, frames: list[Frame], desc: str | None = None) -> list[dict]:
    """Predicted energy (eV), forces (eV/Å) and, for periodic frames, stress (Voigt, eV/Å^3) of each
    frame, and from a committee ``forces_std`` [N] (eV/Å); with ``desc``, a progress bar over the frames."""
    out = []
    for frame in tqdm(frames, desc=desc, unit="frame", disable=None if desc else True, leave=False):
        calc.reset()
        calc.calculate(frame.atoms, ["energy", "forces"])
        out.append({key: calc.results.get(key) for key in ("energy", "forces", "stress", "forces_std")})
    return out


def error_table(frames: list[Frame], preds: list[dict]) -> dict[str, dict[str, float]]:
    """{group: :func:`~gaunt_md.errors.error_metrics`} for the group "all" and each config_type
    (stress only over frames with reference stress); units in :data:`~gaunt_md.errors.UNITS`."""
    from ase.stress import voigt_6_to_full_3x3_stress

    groups: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(frames):
        groups["all"].append(i)
        groups[f.config_type].append(i)
    if len(groups) == 2:  # one config_type: the same as "all"
        groups = {"all": groups["all"]}
    table = {}
    for name, idx in groups.items():
        stressed = [i for i in idx if frames[i].stress is not None and preds[i]["stress"] is not None]
        table[name] = error_metrics(
            np.array([preds[i]["energy"] - frames[i].energy for i in idx]),
            np.array([len(frames[i].atoms) for i in idx]),
            np.concatenate([preds[i]["forces"] - frames[i].forces for i in idx]),
            np.array([voigt_6_to_full_3x3_stress(preds[i]["stress"]) - frames[i].stress for i in stressed]),
        )
    return table


def format_table(table: dict[str, dict[str, float]]) -> list[str]:
    """Aligned text rows of an :func:`error_table`, units in the header."""
    keys = [k for k in UNITS if any(k in row for row in table.values())]
    header = ["group", "frames"] + [f"{k.replace('_', ' ')} ({UNITS[k]})" for k in keys]
    rows = [
        [name, str(row["frames"])] + [f"{row[k]:.4g}" if k in row else "-" for k in keys] for name, row in table.items()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]


def parity_plot(frames: list[Frame], preds: list[dict], metrics: dict[str, float], png: Path, title: str) -> None:
    """Energy per atom, force-component and (for frames with reference stress) stress-component
    parity plots of predictions against their frames, with ``metrics`` (the "all" row of their
    :func:`error_table`) on the panels."""
    from ase import units
    from ase.stress import voigt_6_to_full_3x3_stress

    n = np.array([len(f.atoms) for f in frames])
    stressed = [i for i, f in enumerate(frames) if f.stress is not None and preds[i]["stress"] is not None]
    stress = (
        np.array([frames[i].stress for i in stressed]) / units.GPa,
        np.array([voigt_6_to_full_3x3_stress(preds[i]["stress"]) for i in stressed]) / units.GPa,
    )
    _parity_plot(
        np.array([f.energy for f in frames]) / n,
        np.array([p["energy"] for p in preds]) / n,
        np.concatenate([f.forces.ravel() for f in frames]),
        np.concatenate([p["forces"].ravel() for p in preds]),
        metrics,
        png,
        title,
        stress,
    )
