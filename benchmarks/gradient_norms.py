"""How large a shipped model's loss gradient is, per config_type of its training file, against the clip.

For each training frame (the model's ``training.config`` file: train and validation parts) one batch
of that frame taken ``batch_size`` times, the loss with stage two's weights (or stage one's with
``--stage 1``), and the norm of its gradient over all parameters, as ``gaunt-md fit`` computes it
before clipping it at ``clip_grad``. Prints per config_type the median and largest norm, the share
of frames above the clip, and the median loss. One thread, a minute or two for an mlearn model:

    python benchmarks/gradient_norms.py gaunt-mlearn-Ge
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
import torch
from _runs import shipped_config
from torch_geometric.loader import DataLoader

from gaunt_md.config import FitConfig
from gaunt_md.hub import load_model
from gaunt_md.train.data import load_data
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.metrics import loss_delta
from gaunt_md.train.step import eager_loss_and_gradients


def gradient_norms(name: str, stage: int) -> dict[str, dict[str, float]]:
    """{config_type: {frames, median, max, above_clip, median_loss}} of model ``name``'s training frames."""
    cfg = FitConfig(**{**shipped_config(name), "test": None})
    data = load_data(cfg)
    model = load_model(name).float().train()
    weights = {
        "energy": cfg.stage_two_energy_weight if stage == 2 else cfg.energy_weight,
        "forces": cfg.forces_weight,
        "stress": cfg.stress_weight,
    }
    found = defaultdict(list)
    for frame in data.train + data.valid:
        graph = labelled_graph(frame, model.config.r_max, model.species_of, torch.float32)
        batch = next(iter(DataLoader([graph] * cfg.batch_size, batch_size=cfg.batch_size)))
        loss = eager_loss_and_gradients(model, batch, weights, loss_delta(cfg))
        norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None]).item()
        found[frame.config_type].append((norm, loss))
    return {
        group: {
            "frames": len(rows),
            "median": float(np.median([n for n, _ in rows])),
            "max": max(n for n, _ in rows),
            "above_clip": float(np.mean([n > cfg.clip_grad for n, _ in rows])),
            "median_loss": float(np.median([v for _, v in rows])),
        }
        for group, rows in found.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a shipped model's name, e.g. gaunt-mlearn-Ge")
    parser.add_argument("--stage", type=int, choices=[1, 2], default=2, help="whose loss weights")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for group, row in gradient_norms(args.model, args.stage).items():
        print(
            f"{group:10s} {row['frames']:4d} frames: gradient norm median {row['median']:.2f}, largest "
            f"{row['max']:.2f}, {100 * row['above_clip']:.0f}% above the clip; median loss {row['median_loss']:.3g}"
        )


if __name__ == "__main__":
    main()
