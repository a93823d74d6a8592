"""The training loop of ``gaunt-md fit``: a function of a :class:`FitConfig`.

Each epoch writes ``checkpoints/latest.pt`` (model, EMA, optimiser, scheduler, RNG states) by
atomic rename, so a run killed at any moment resumes from the last finished epoch with
``resume=True``; the best EMA weights by validation loss go to ``checkpoints/best.pt``, and at the
end, with the per-atom energy shift refitted on the training frames, to ``model.pt`` (a
:class:`GauntForceField` file).

Under ``torchrun --nproc_per_node N gaunt-md fit ...`` every process trains on its shard of the
training set with DistributedDataParallel (NCCL on GPUs, gloo on CPU), all evaluate the same
validation set, and rank 0 alone writes files and prints.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import random
import shutil
import time
from pathlib import Path

import click
import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DistributedSampler
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from ..data import e0s_from_isolated_atoms, e0s_least_squares, read_frames
from ..model import GauntForceField
from .config import FitConfig
from .graphs import data_statistics, labelled_graph
from .metrics import evaluate, loss_terms, predict, refit_energy_shift

DTYPES = {"float32": torch.float32, "float64": torch.float64}
LOG_FIELDS = ["epoch", "train_loss", "valid_loss", "energy_rmse", "energy_mae", "forces_rmse", "forces_mae", "lr", "seconds"]


def _load_data(cfg: FitConfig):
    keys = dict(energy_key=cfg.energy_key, forces_key=cfg.forces_key, stress_key=cfg.stress_key)
    train = read_frames(cfg.train, **keys)
    if cfg.valid:
        valid = read_frames(cfg.valid, **keys)
    else:
        if not 0 < cfg.valid_fraction < 1:
            raise ValueError(f"valid_fraction must be in (0, 1), got {cfg.valid_fraction}")
        order = np.random.default_rng(cfg.seed).permutation(len(train))
        n_valid = max(1, int(round(cfg.valid_fraction * len(train))))
        if n_valid >= len(train):
            raise ValueError(f"{cfg.train} has {len(train)} frames: too few to hold out a validation split")
        valid, train = [train[i] for i in order[:n_valid]], [train[i] for i in order[n_valid:]]
    test = read_frames(cfg.test, **keys) if cfg.test else []
    elements = sorted({int(z) for f in train for z in f.atoms.numbers})
    for name, frames in (("validation", valid), ("test", test)):
        extra = sorted({int(z) for f in frames for z in f.atoms.numbers} - set(elements))
        if extra:
            from ase.data import chemical_symbols

            raise ValueError(f"the {name} data has element(s) {', '.join(chemical_symbols[z] for z in extra)} not in the training data")
    return train, valid, test, elements


def _e0s(cfg: FitConfig, train, elements) -> dict[int, float]:
    if cfg.e0s == "average":
        return e0s_least_squares(train, elements)
    e0s = e0s_from_isolated_atoms(cfg.e0s, cfg.energy_key)
    missing = [z for z in elements if z not in e0s]
    if missing:
        raise ValueError(f"{cfg.e0s} has no isolated-atom energy for atomic number(s) {missing}")
    return e0s


def _prepare_output(cfg: FitConfig, resume: bool, force: bool) -> Path:
    out = Path(cfg.output)
    if out.exists() and any(out.iterdir()) and not resume:
        if not force:
            raise click.ClickException(f"results folder {out} exists and is not empty; use --resume to continue or --force to replace it")
        shutil.rmtree(out)
    if resume and not (out / "checkpoints" / "latest.pt").is_file():
        raise click.ClickException(f"nothing to resume: {out / 'checkpoints' / 'latest.pt'} does not exist")
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    return out


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def _start_processes(cfg: FitConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available() and cfg.device in ("auto", "cuda")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device {cfg.device!r}; use auto, cpu or cuda")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device


def _all_agree(flag: bool, world: int) -> bool:
    """True on every rank when it is true on any (time-based decisions must not split the ranks)."""
    if world == 1:
        return flag
    t = torch.tensor([float(flag)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def fit(cfg: FitConfig, resume: bool = False, force: bool = False) -> dict:
    """Train, validate every epoch, keep the best EMA model; returns the final metrics."""
    if cfg.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {cfg.dtype!r}; use float32 or float64")
    train, valid, test, elements = _load_data(cfg)  # bad input fails before anything is written
    e0s = _e0s(cfg, train, elements)
    rank, world, device = _start_processes(cfg)
    main_rank = rank == 0
    echo = click.echo if main_rank else (lambda *a, **k: None)
    out = Path(cfg.output)
    if main_rank:
        _prepare_output(cfg, resume, force)
        if not resume:
            cfg.save(out / "config.yaml")
    if world > 1:
        dist.barrier()
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    dtype = DTYPES[cfg.dtype]

    species_of = {z: i for i, z in enumerate(elements)}
    to_graphs = lambda frames: [labelled_graph(f, cfg.r_max, species_of, dtype) for f in frames]
    train_graphs, valid_graphs, test_graphs = to_graphs(train), to_graphs(valid), to_graphs(test)
    stats = data_statistics(train, train_graphs, e0s)
    model = GauntForceField(elements=elements, e0s=e0s, **stats, **cfg.model_options()).to(device=device, dtype=dtype)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, amsgrad=cfg.amsgrad)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=cfg.lr_factor, patience=cfg.lr_patience)
    trainer = DistributedDataParallel(model) if world > 1 else model
    sampler = DistributedSampler(train_graphs, num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed)
    train_loader = DataLoader(train_graphs, batch_size=cfg.batch_size, sampler=sampler)
    valid_loader = DataLoader(valid_graphs, batch_size=cfg.batch_size)
    start_epoch, best, since_best, elapsed_before = 0, float("inf"), 0, 0.0
    checkpoint_path = out / "checkpoints" / "latest.pt"
    if resume:
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        start_epoch, best, since_best, elapsed_before = state["epoch"] + 1, state["best"], state["since_best"], state["elapsed"]
        echo(f"resuming {out} after epoch {state['epoch'] + 1}")
    echo(
        f"training on {len(train)} frames ({world} process{'es' if world > 1 else ''}), validating on {len(valid)}; elements {model.elements}; "
        f"{sum(p.numel() for p in model.parameters())} parameters; avg neighbours {stats['avg_num_neighbors']:.1f}"
    )

    log_path = out / "log.csv"
    if main_rank and not resume:
        with log_path.open("w", newline="") as fh:
            csv.writer(fh).writerow(LOG_FIELDS)
    if main_rank and resume:  # a run killed after logging an epoch but before its checkpoint redoes that epoch
        rows = [r for r in csv.DictReader(log_path.open()) if int(r["epoch"]) <= start_epoch]
        with log_path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    t_start = time.perf_counter()
    budget = cfg.max_minutes * 60 if cfg.max_minutes else float("inf")
    elapsed = lambda: elapsed_before + time.perf_counter() - t_start
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        stage_two = epoch >= cfg.stage_two_fraction * cfg.epochs or _all_agree(elapsed() >= cfg.stage_two_fraction * budget, world)
        if stage_two:
            for group in optimizer.param_groups:
                group["lr"] = min(group["lr"], cfg.stage_two_lr)
        weights = {"energy": cfg.stage_two_energy_weight if stage_two else cfg.energy_weight, "forces": cfg.forces_weight, "stress": cfg.stress_weight}
        model.train()
        sampler.set_epoch(epoch)
        total, count = 0.0, 0
        for batch in tqdm(train_loader, desc=f"epoch {epoch + 1}", leave=False, disable=None if main_rank else True):
            batch = batch.to(device)
            terms = loss_terms(predict(trainer, batch, with_stress=bool(batch.has_stress.any())), batch)
            loss = sum(weights[k] * v for k, v in terms.items())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            optimizer.step()
            ema.update_parameters(model)
            total, count = total + loss.item() * batch.num_graphs, count + batch.num_graphs
        if world > 1:
            sums = torch.tensor([total, count], dtype=torch.float64)
            dist.all_reduce(sums)
            total, count = sums.tolist()
        metrics = evaluate(ema.module, [b.to(device) for b in valid_loader])
        # one fixed criterion for the whole run, so models from both loss stages compare fairly
        valid_loss = cfg.energy_weight * (metrics["energy_rmse"] / 1e3) ** 2 + cfg.forces_weight * (metrics["forces_rmse"] / 1e3) ** 2
        scheduler.step(valid_loss)
        improved = valid_loss < best
        best, since_best = (valid_loss, 0) if improved else (best, since_best + 1)
        seconds = time.perf_counter() - t0
        if main_rank:
            if improved:
                ema.module.save(out / "checkpoints" / "best.pt")
            row = {"epoch": epoch + 1, "train_loss": total / count, "valid_loss": valid_loss, **metrics, "lr": optimizer.param_groups[0]["lr"], "seconds": seconds}
            with log_path.open("a", newline="") as fh:
                csv.DictWriter(fh, LOG_FIELDS).writerow(row)
            _save_atomic(
                {"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "rng": _rng_state(), "epoch": epoch, "best": best, "since_best": since_best, "elapsed": elapsed()},
                checkpoint_path,
            )
        eta = min((time.perf_counter() - t_start) / (epoch + 1 - start_epoch) * (cfg.epochs - epoch - 1), budget - elapsed())
        echo(
            f"epoch {epoch + 1}/{cfg.epochs} loss {total / count:.4g} | valid E {metrics['energy_rmse']:.2f}/{metrics['energy_mae']:.2f} "
            f"meV/atom F {metrics['forces_rmse']:.1f}/{metrics['forces_mae']:.1f} meV/Å (RMSE/MAE) | {seconds:.1f} s, ETA {eta / 60:.1f} min"
            + (" *" if improved else "")
        )
        if since_best >= cfg.patience:
            echo(f"stopping early: no improvement for {cfg.patience} epochs")
            break
        if _all_agree(elapsed() >= budget, world):
            echo(f"stopping: the time budget of {cfg.max_minutes:g} min is spent")
            break

    if world > 1:
        # The DDP reducer holds the process group. Freed last from there, the group's destructor joins
        # gloo's threads while holding the GIL, which a thread freeing a finished work needs: a deadlock
        # seen in CI (py-spy: ~Reducer → ~ProcessGroupGloo → thread join; worker in ~AsyncWork waiting for
        # the GIL). Freed first, the group goes in destroy_process_group, whose destructor drops the GIL.
        del trainer
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
        if not main_rank:
            return {}
    final = GauntForceField.load(out / "checkpoints" / "best.pt").to(device=device, dtype=dtype)
    correction = refit_energy_shift(final, [b.to(device) for b in DataLoader(train_graphs, batch_size=cfg.batch_size)])
    echo(f"per-atom energy shift refitted on the {len(train_graphs)} training frames: {1e3 * correction:+.3f} meV/atom")
    final.save(out / "model.pt")  # in the precision it was trained in
    _plot_learning_curve(log_path, out / "learning_curve.png")
    result = {"valid": evaluate(final, [b.to(device) for b in valid_loader])}
    if test_graphs:
        result["test"] = evaluate(final, [b.to(device) for b in DataLoader(test_graphs, batch_size=cfg.batch_size)])
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    for split, m in result.items():
        echo(f"{split}: E RMSE {m['energy_rmse']:.2f} MAE {m['energy_mae']:.2f} meV/atom | F RMSE {m['forces_rmse']:.1f} MAE {m['forces_mae']:.1f} meV/Å")
    return result


def _plot_learning_curve(log_path: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(log_path.open()))
    epochs = [int(r["epoch"]) for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.semilogy(epochs, [float(r["energy_rmse"]) for r in rows])
    a.set(xlabel="epoch", ylabel="valid energy RMSE (meV/atom)")
    b.semilogy(epochs, [float(r["forces_rmse"]) for r in rows])
    b.set(xlabel="epoch", ylabel="valid force RMSE (meV/Å)")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
