"""Loss and error metrics of a model on labelled graphs (energies per atom, force components)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from ase import units

from ..config import FitConfig
from ..errors import error_metrics


def predict(model, batch, with_stress: bool) -> dict[str, torch.Tensor]:
    return model(batch, compute_forces=True, compute_stress=with_stress)


def loss_terms(out: dict, batch) -> dict[str, torch.Tensor]:
    """Mean squared errors, each structure's terms times its loss weight (``batch.weight``): energy
    per atom (eV²/atom²), force components (eV²/Å²), stress components of the structures with
    reference stress (GPa², so that a stress weight of 1 makes 1 GPa weigh as 0.1 eV/Å at force weight 100).
    Written with data-independent shapes (no boolean indexing), so that a traced training step
    (``gaunt_md.train.step``) serves every batch of the same sizes."""
    w, energy = batch.weight, out["energy"]
    n_atoms = torch.zeros_like(energy).index_add(0, batch.batch, torch.ones_like(batch.batch, dtype=energy.dtype))
    terms = {
        "energy": (w * ((energy - batch.energy) / n_atoms) ** 2).mean(),
        "forces": (w[batch.batch, None] * (out["forces"] - batch.forces) ** 2).mean(),
    }
    if "stress" in out:
        mask = batch.has_stress.to(w.dtype)
        error = (out["stress"] - batch.stress) / units.GPa
        terms["stress"] = (mask * w)[:, None, None].mul(error**2).sum() / (9 * mask.sum()).clamp(min=1)
    return terms


class ErrorAccumulator:
    """Collects per-structure energy errors (eV), atom counts, force component errors (eV/Å) and the
    stress component errors (eV/Å^3) of structures with reference stress."""

    def __init__(self) -> None:
        self.energy: list[torch.Tensor] = []
        self.n_atoms: list[torch.Tensor] = []
        self.forces: list[torch.Tensor] = []
        self.stress: list[torch.Tensor] = []

    def add(self, out: dict, batch) -> None:
        self.energy.append((out["energy"] - batch.energy).detach().double().cpu())
        self.n_atoms.append(torch.bincount(batch.batch, minlength=int(batch.num_graphs)).cpu())
        self.forces.append((out["forces"] - batch.forces).detach().double().cpu().reshape(-1))
        if "stress" in out:
            mask = batch.has_stress
            self.stress.append((out["stress"][mask] - batch.stress[mask]).detach().double().cpu().reshape(-1))

    def summary(self) -> dict[str, float]:
        """:func:`gaunt_md.errors.error_metrics` of everything added (meV/atom, meV, meV/Å, GPa)."""
        return error_metrics(
            torch.cat(self.energy).numpy(),
            torch.cat(self.n_atoms).numpy(),
            torch.cat(self.forces).numpy(),
            torch.cat(self.stress).numpy() if self.stress else None,
        )


def refit_energy_shift(model, loader: Iterable) -> float:
    """Add to ``model.config.shift`` the median per-atom energy error over labelled batches and return
    that correction (eV/atom): the per-atom shift with the smallest per-atom energy MAE on them.
    Forces do not change. Late in a fit the high energy weight can leave every energy off by one
    constant per atom. The median, not the mean: a few frames the model fits badly (the surface
    slabs of mlearn Mo and Ge, off by 60-160 meV/atom) would pull a mean shift onto every other
    frame (15-minute mlearn fits, validation E MAE with the mean shift and the median: Mo 10.6 and
    3.9 meV/atom, Ge 3.7 and 2.1, Si 2.6 and 2.3)."""
    errors = []
    with torch.no_grad():
        for batch in loader:
            out = model(batch, compute_forces=False)
            n_atoms = torch.bincount(batch.batch, minlength=int(batch.num_graphs))
            errors.append(((batch.energy - out["energy"]) / n_atoms).double().cpu())
    correction = torch.quantile(torch.cat(errors), 0.5).item()
    model.config.shift += correction
    return correction


def evaluate(model, loader: Iterable) -> dict[str, float]:
    """Error metrics of ``model`` over a loader of labelled batches (stress where a batch has it)."""
    acc = ErrorAccumulator()
    was_training = model.training
    model.eval()
    for batch in loader:
        acc.add(predict(model, batch, with_stress=bool(batch.has_stress.any())), batch)
    model.train(was_training)
    return acc.summary()


def selection_loss(cfg: FitConfig, metrics: dict) -> float:
    """The validation loss that picks the best model and drives the plateau schedule: one fixed
    criterion for the whole run, so models from both loss stages compare fairly. Energies weigh as in
    stage two; with the stage-one weight forces alone decide, and a model with good forces and poor
    energies wins (mlearn Si: 28 meV/atom energy error against 2.4 at the end of stage two)."""
    return (
        cfg.stage_two_energy_weight * (metrics["energy_rmse"] / 1e3) ** 2
        + cfg.forces_weight * (metrics["forces_rmse"] / 1e3) ** 2
        + cfg.stress_weight * metrics.get("stress_rmse", 0.0) ** 2
    )
