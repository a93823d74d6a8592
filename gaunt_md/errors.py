"""Error metrics: the one definition of every error gaunt-md reports, and its unit.

``gaunt-md fit`` (validation, ``metrics.json``), ``gaunt-md eval`` and the benchmarks all call
:func:`error_metrics`, so their numbers mean the same thing.
"""

from __future__ import annotations

import numpy as np
from ase import units

UNITS = {
    "energy_rmse": "meV/atom",
    "energy_mae": "meV/atom",
    "energy_total_rmse": "meV",
    "energy_total_mae": "meV",
    "forces_rmse": "meV/Å",
    "forces_mae": "meV/Å",
    "stress_rmse": "GPa",
    "stress_mae": "GPa",
    "stress_bias": "GPa",  # mean isotropic stress error, prediction - label: a constant offset of the labels shows here
}


def error_metrics(
    energy: np.ndarray, n_atoms: np.ndarray, forces: np.ndarray, stress: np.ndarray | None = None
) -> dict[str, float]:
    """RMSE and MAE in :data:`UNITS` from prediction-minus-reference errors.

    energy: [B] per-structure energy errors (eV); n_atoms: [B] atoms per structure; forces: force
    component errors (eV/Å), any shape; stress: stress errors (eV/Å^3) of the structures that have
    reference stress, [S, 3, 3] or flattened (None or empty: no stress entries). ``stress_bias`` is the
    mean of their isotropic parts (trace / 3): a model trained without stress shows a constant offset
    of the labels (such as a Pulay stress) there, as minus the fit's ``--stress-offset``.
    """
    energy, forces = np.asarray(energy, dtype=float), np.asarray(forces, dtype=float).ravel()
    per_atom = energy / np.asarray(n_atoms, dtype=float)
    out = {"frames": len(energy)}
    for name, values, factor in (
        ("energy", per_atom, 1e3),
        ("energy_total", energy, 1e3),
        ("forces", forces, 1e3),
        ("stress", None if stress is None else np.asarray(stress, dtype=float).ravel(), 1 / units.GPa),
    ):
        if values is None or values.size == 0:
            continue
        out[f"{name}_rmse"] = factor * float(np.sqrt(np.mean(values**2)))
        out[f"{name}_mae"] = factor * float(np.mean(np.abs(values)))
    if "stress_rmse" in out:
        out["stress_bias"] = float(np.mean(np.asarray(stress, dtype=float).reshape(-1, 9)[:, ::4]) / units.GPa)
    return out
