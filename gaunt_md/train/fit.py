"""The training loop of ``gaunt-md fit``, as named steps: :func:`setup`, :func:`train_epoch`,
:func:`validate_and_checkpoint`, :func:`finish`.

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

import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DistributedSampler
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from ..allocator import tune_cpu_allocator
from ..config import FitConfig
from ..errors import UNITS
from ..model import GauntForceField
from ..plots import learning_curve
from ..runtime import flush_denormals, resolve_dtype, set_threads
from .checkpoint import append_log, load_checkpoint, save_checkpoint, start_log
from .data import FitData, load_data
from .distributed import all_agree, barrier, start_processes, stop_processes, sum_over_ranks
from .dynamic import compiled_step
from .finetune import check_compatible, child_of, load_parent
from .graphs import data_statistics, labelled_graph
from .metrics import evaluate, loss_delta, refit_energy_shift, selection_loss, stress_text
from .step import CompiledStep, train_step
from .validation import CompiledValidation


@dataclass
class Run:
    """The live state of one fit."""

    cfg: FitConfig
    out: Path
    rank: int
    world: int
    device: torch.device
    data: FitData
    graphs: dict[str, list]
    model: GauntForceField
    ema: AveragedModel
    optimizer: torch.optim.Optimizer
    scheduler: Any
    trainer: torch.nn.Module | None
    sampler: DistributedSampler
    echo: Callable[..., None]
    start_epoch: int = 0
    best: float = float("inf")
    since_best: int = 0
    elapsed_before: float = 0.0
    compiled_step: CompiledStep | None = None
    valid_batches: list = field(default_factory=list)
    compiled_valid: CompiledValidation | None = None
    t_start: float = field(default_factory=time.perf_counter)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def elapsed(self) -> float:
        """Seconds of training, earlier sessions of a resumed run included."""
        return self.elapsed_before + time.perf_counter() - self.t_start

    def loader(self, split: str) -> list:
        """The validation or test batches on the run's device."""
        return [b.to(self.device) for b in DataLoader(self.graphs[split], batch_size=self.cfg.batch_size)]


def fit(cfg: FitConfig, resume: bool = False, force: bool = False) -> dict:
    """Train, validate every epoch, keep the best EMA model; returns the final metrics (rank 0)."""
    run = setup(cfg, resume, force)
    budget = cfg.max_minutes * 60 if cfg.max_minutes else float("inf")
    for epoch in range(run.start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        progress = max(epoch / cfg.epochs, sum_over_ranks([run.elapsed() / budget], run.world)[0] / run.world)
        stage_two = progress >= cfg.stage_two_fraction
        loss = train_epoch(run, epoch, progress, stage_two)
        validate_and_checkpoint(run, epoch, loss, t0, budget, stage_two)
        if run.since_best >= cfg.patience:
            run.echo(f"stopping early: no improvement for {cfg.patience} epochs of stage two")
            break
        if all_agree(run.elapsed() >= budget, run.world):
            run.echo(f"stopping: the time budget of {cfg.max_minutes:g} min is spent")
            break
    stop_processes(run)
    return finish(run) if run.main else {}


def setup(cfg: FitConfig, resume: bool, force: bool) -> Run:
    """Check everything, then prepare the results folder. Bad settings, data or an impossible resume
    raise before any file is touched; only then does ``force`` delete an earlier results folder."""
    cfg.check()
    flush_denormals()  # before the threads start: they inherit it
    set_threads(cfg.threads)
    tune_cpu_allocator()  # a training step frees and reallocates its temporaries: keep them in the heap
    out = Path(cfg.output)
    if resume and not (out / "checkpoints" / "latest.pt").is_file():
        raise FileNotFoundError(f"nothing to resume: {out / 'checkpoints' / 'latest.pt'} does not exist")
    if not resume and not force and out.exists() and any(out.iterdir()):
        raise ValueError(
            f"results folder {out} exists and is not empty; use --resume to continue or --force to replace it"
        )
    parent, record = load_parent(cfg.init_model) if cfg.init_model else (None, None)
    data = load_data(cfg)
    if parent is not None:
        check_compatible(parent, cfg.given_model, data.elements)
        cfg.model = parent.config.options()
    rank, world, device = start_processes(cfg.device)
    seed = cfg.seed + cfg.member  # committee members differ in weights and batches, not in the split
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dtype = resolve_dtype(cfg.dtype)
    species_of = parent.species_of if parent is not None else {z: i for i, z in enumerate(data.elements)}
    graphs = {
        split: [
            labelled_graph(f, cfg.model["r_max"], species_of, dtype, cfg.config_type_weights.get(f.config_type, 1.0))
            for f in frames
        ]
        for split, frames in (("train", data.train), ("valid", data.valid), ("test", data.test))
    }
    if parent is not None:
        model = child_of(parent, record, data.e0s if cfg.e0s else None).to(device=device, dtype=dtype)
    else:
        stats = data_statistics(data.train, graphs["train"], data.e0s)
        model = GauntForceField(
            elements=data.elements, e0s=data.e0s, closest_pairs=data.closest_pairs, **stats, **cfg.model
        )
        model = model.to(device=device, dtype=dtype)
    run = Run(
        cfg,
        out,
        rank,
        world,
        device,
        data,
        graphs,
        model,
        ema=AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True),
        # fused: one kernel for all parameters (CPU and CUDA), 4x faster than the per-tensor loop on CPU
        optimizer=torch.optim.Adam(
            model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, amsgrad=cfg.amsgrad, fused=True
        ),
        scheduler=None,
        trainer=DistributedDataParallel(model) if world > 1 else model,
        sampler=DistributedSampler(graphs["train"], num_replicas=world, rank=rank, shuffle=True, seed=seed),
        echo=(lambda *a: print(*a, flush=True)) if rank == 0 else (lambda *a: None),
    )
    run.valid_batches = run.loader("valid")
    if cfg.compile:
        run.compiled_valid = CompiledValidation(model, run.valid_batches, echo=run.echo)
        if world > 1:
            run.echo("compile: the compiled training step runs in one process; these processes train eagerly")
        else:
            run.compiled_step = compiled_step(
                model, graphs["train"], cfg.batch_size, echo=run.echo, delta=loss_delta(cfg)
            )
    run.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        run.optimizer, factor=cfg.lr_factor, patience=cfg.lr_patience
    )
    if resume:
        load_checkpoint(run)
        if run.start_epoch >= cfg.epochs:
            raise ValueError(
                f"{out} has already trained {run.start_epoch} epochs; give --epochs larger than that to train more"
            )
    if run.main:
        _prepare_folder(run, resume, force)
    barrier(world)
    run.echo(f"resuming {out} after epoch {run.start_epoch}" if resume else f"results go to {out}")
    if record:
        run.echo(f"fine-tuning {record['model']} (version {record['version']}, sha256 {record['sha256'][:12]}…)")
    run.echo(
        f"training on {len(data.train)} frames ({world} process{'es' if world > 1 else ''}), validating on {len(data.valid)}; "
        f"elements {model.elements}; {sum(p.numel() for p in model.parameters())} parameters; "
        f"avg neighbours {model.config.avg_num_neighbors:.1f}"
    )
    return run


def _prepare_folder(run: Run, resume: bool, force: bool) -> None:
    """The results folder with config.yaml (on resume: the settings given now, saying what changed) and the log."""
    out, config = run.out, run.out / "config.yaml"
    if force and not resume and out.exists():
        shutil.rmtree(out)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    if resume and config.is_file():
        before = FitConfig.from_sources(config)
        changed = {k: (v, getattr(run.cfg, k)) for k, v in asdict(before).items() if getattr(run.cfg, k) != v}
        if changed:
            run.echo("updated config.yaml: " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()))
    run.cfg.save(config)
    start_log(out / "log.csv", run.start_epoch if resume else None)


def train_epoch(run: Run, epoch: int, progress: float, stage_two: bool) -> float:
    """One pass over the training shard, ``progress`` (0-1) of the epochs or the time budget done;
    returns the mean loss per structure over all ranks."""
    cfg = run.cfg
    for group in run.optimizer.param_groups:
        if cfg.lr_schedule == "cosine":
            group["lr"] = cfg.lr * (0.01 + 0.99 * (1 + math.cos(math.pi * min(progress, 1.0))) / 2)
        if stage_two:
            group["lr"] = min(group["lr"], cfg.stage_two_lr)
    weights = {
        "energy": cfg.stage_two_energy_weight if stage_two else cfg.energy_weight,
        "forces": cfg.forces_weight,
        "stress": cfg.stress_weight,
    }
    run.model.train()
    run.sampler.set_epoch(epoch)
    total, count = 0.0, 0
    loader = DataLoader(run.graphs["train"], batch_size=cfg.batch_size, sampler=run.sampler)
    for batch in tqdm(loader, desc=f"epoch {epoch + 1}", leave=False, disable=None if run.main else True):
        batch = batch.to(run.device)
        loss = train_step(run, batch, weights)
        total, count = total + loss * batch.num_graphs, count + batch.num_graphs
    total, count = sum_over_ranks([total, count], run.world)
    return total / count


def validate_and_checkpoint(run: Run, epoch: int, train_loss: float, t0: float, budget: float, stage_two: bool) -> None:
    """Validate the EMA model, step the schedule, keep the best model, log and checkpoint the epoch.
    Only stage-two epochs count towards the patience: before it the learning rate is still high (under
    the cosine schedule, most of its fall is still to come), and stopping there wastes the budget."""
    cfg = run.cfg
    metrics = evaluate(run.ema.module, run.valid_batches, loss_delta(cfg), run.compiled_valid)
    valid_loss = selection_loss(cfg, metrics)
    if cfg.lr_schedule == "plateau":
        run.scheduler.step(valid_loss)
    improved = valid_loss < run.best
    run.best, run.since_best = (valid_loss, 0) if improved else (run.best, run.since_best + int(stage_two))
    seconds = time.perf_counter() - t0
    if run.main:
        if improved:
            run.ema.module.save(run.out / "checkpoints" / "best.pt")
        append_log(
            run.out / "log.csv",
            {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "valid_loss": valid_loss,
                **metrics,
                "lr": run.optimizer.param_groups[0]["lr"],
                "seconds": seconds,
            },
        )
        save_checkpoint(run, epoch, run.elapsed())
    done = epoch + 1 - run.start_epoch
    eta = min((time.perf_counter() - run.t_start) / done * (cfg.epochs - epoch - 1), budget - run.elapsed())
    run.echo(
        f"epoch {epoch + 1}/{cfg.epochs} loss {train_loss:.4g} | valid E {metrics['energy_rmse']:.2f}/{metrics['energy_mae']:.2f} "
        f"meV/atom F {metrics['forces_rmse']:.1f}/{metrics['forces_mae']:.1f} meV/Å{stress_text(metrics, '/')} (RMSE/MAE) | "
        f"{seconds:.1f} s, ETA {eta / 60:.1f} min" + (" *" if improved else "")
    )


def finish(run: Run) -> dict:
    """model.pt (the best EMA model, its energy shift refitted on the training frames), the learning
    curve, and the final validation and test metrics in metrics.json."""
    out, cfg = run.out, run.cfg
    final = GauntForceField.load(out / "checkpoints" / "best.pt").to(device=run.device, dtype=resolve_dtype(cfg.dtype))
    correction = refit_energy_shift(final, run.loader("train"))
    run.echo(
        f"per-atom energy shift refitted on the {len(run.graphs['train'])} training frames: {1e3 * correction:+.3f} meV/atom"
    )
    final.save(out / "model.pt")  # in the precision it was trained in
    learning_curve(out / "log.csv", out / "learning_curve.png")
    result = {split: evaluate(final, run.loader(split)) for split in ("valid", "test") if run.graphs[split]}
    (out / "metrics.json").write_text(json.dumps({"units": UNITS, **result}, indent=2, ensure_ascii=False))
    for split, m in result.items():
        run.echo(
            f"{split}: E RMSE {m['energy_rmse']:.2f} MAE {m['energy_mae']:.2f} meV/atom | "
            f"F RMSE {m['forces_rmse']:.1f} MAE {m['forces_mae']:.1f} meV/Å{stress_text(m, ' MAE ', ' | S RMSE ')}"
        )
    return result
