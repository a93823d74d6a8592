"""Loss and error metrics of a model on labelled graphs (energies per atom, force components)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from ase import units

from ..config import FitConfig
from ..errors import error_metrics


def predict(model, batch, with_stress: bool) -> dict[str, torch.Tensor]:
    return model(batch, compute_forces=True, compute_stress=with_stress)


def loss_delta(cfg: FitConfig) -> float | None:
    """The Huber delta of a fit's loss, or None for squared errors."""
    return cfg.huber_delta if cfg.loss == "huber" else None


def penalty(error: torch.Tensor, delta: float | None = None) -> torch.Tensor:
    """Elementwise penalty of an error: ``error²`` (delta None), or with ``delta`` twice the Huber loss,
    ``error²`` up to ``|error| = delta`` and ``2·delta·|error| - delta²`` beyond, so that a loss weight
    means the same for errors below delta in both."""
    if delta is None:
        return error**2
    return 2 * torch.nn.functional.huber_loss(error, torch.zeros_like(error), reduction="none", delta=delta)


def loss_terms(out: dict, batch, delta: float | None = None) -> dict[str, torch.Tensor]:
    """Mean penalties (:func:`penalty`: squared errors, or Huber with ``delta``), each structure's terms
    times its loss weight (``batch.weight``): energy per atom (eV/atom), force components (eV/Å), stress
    components of the structures with reference stress (GPa, so that a stress weight of 1 makes 1 GPa
    weigh as 0.1 eV/Å at force weight 100). Written with data-independent shapes (no boolean indexing),
    so that a traced training step (``gaunt_md.train.step``) serves every batch of the same sizes."""
    w, energy = batch.weight, out["energy"]
    n_atoms = torch.zeros_like(energy).index_add(0, batch.batch, torch.ones_like(batch.batch, dtype=energy.dtype))
    terms = {
        "energy": (w * penalty((energy - batch.energy) / n_atoms, delta)).mean(),
        "forces": (w[batch.batch, None] * penalty(out["forces"] - batch.forces, delta)).mean(),
    }
    if "stress" in out:
        mask = batch.has_stress.to(w.dtype)
        error = (out["stress"] - batch.stress) / units.GPa
        terms["stress"] = (mask * w)[:, None, None].mul(penalty(error, delta)).sum() / (9 * mask.sum()).clamp(min=1)
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

    def summary(self, huber_delta: float | None = None) -> dict[str, float]:
        """:func:`gaunt_md.errors.error_metrics` of everything added (meV/atom, meV, meV/Å, GPa); with
        ``huber_delta`` also the mean Huber penalty of each term (``energy_huber``, ``forces_huber``,
        ``stress_huber``; :func:`penalty`, in the units of :func:`loss_terms`), unweighted."""
        energy, n_atoms = torch.cat(self.energy), torch.cat(self.n_atoms)
        stress = torch.cat(self.stress) if self.stress else None
        out = error_metrics(
            energy.numpy(), n_atoms.numpy(), torch.cat(self.forces).numpy(), None if stress is None else stress.numpy()
        )
        if huber_delta is not None:
            errors = {"energy": energy / n_atoms, "forces": torch.cat(self.forces)}
            if stress is not None and stress.numel():
                errors["stress"] = stress / units.GPa
            out.update({f"{k}_huber": penalty(e, huber_delta).mean().item() for k, e in errors.items()})
        return out


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


def evaluate(
    model, loader: Iterable, huber_delta: float | None = None, predictor: Callable | None = None
) -> dict[str, float]:
    """Error metrics of ``model`` over a loader of labelled batches (stress where a batch has it); with
    ``huber_delta`` also the mean Huber penalties (:meth:`ErrorAccumulator.summary`). ``predictor(model,
    index)``: the predictions on the index-th batch, if not the model's own (a compiled pass)."""
    acc = ErrorAccumulator()
    was_training = model.training
    model.eval()
    for i, batch in enumerate(loader):
        out = predictor(model, i) if predictor else predict(model, batch, with_stress=bool(batch.has_stress.any()))
        acc.add(out, batch)
    model.train(was_training)
    return acc.summary(huber_delta)


def selection_loss(cfg: FitConfig, metrics: dict) -> float:
    """The validation loss that picks the best model and drives the plateau schedule: one fixed
    criterion for the whole run, so models from both loss stages compare fairly. Energies weigh as in
    stage two; with the stage-one weight forces alone decide, and a model with good forces and poor
    energies wins (mlearn Si: 28 meV/atom energy error against 2.4 at the end of stage two). Each term
    is the mean of the fit's own penalty: squared errors (RMSE²), or with ``loss: huber`` the Huber
    penalties that :func:`evaluate` adds with ``huber_delta``."""
    if cfg.loss == "huber":
        terms = {k: metrics.get(f"{k}_huber", 0.0) for k in ("energy", "forces", "stress")}
    else:
        terms = {
            "energy": (metrics["energy_rmse"] / 1e3) ** 2,
            "forces": (metrics["forces_rmse"] / 1e3) ** 2,
            "stress": metrics.get("stress_rmse", 0.0) ** 2,
        }
    return (
        cfg.stage_two_energy_weight * terms["energy"]
        + cfg.forces_weight * terms["forces"]
        + cfg.stress_weight * terms["stress"]
    )


def stress_text(metrics: dict, between: str, before: str = " S ") -> str:
    """The stress errors (GPa) for a progress line, if ``metrics`` has them."""
    if "stress_rmse" not in metrics:
        return ""
    return f"{before}{metrics['stress_rmse']:.3f}{between}{metrics['stress_mae']:.3f} GPa"
