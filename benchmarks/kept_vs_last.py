"""The model a fit kept (best validation loss) against its last epoch's, per config_type of labelled files.

`gaunt-md fit` keeps the epoch with the lowest validation loss (``checkpoints/best.pt``); ``checkpoints/latest.pt``
holds the last epoch's EMA weights. Each model gets the per-atom energy shift that `gaunt-md fit` refits at the end
(`refit_energy_shift` on ``--train``), then is evaluated in float64 on FILES as `gaunt-md eval` does (its tables).

    python benchmarks/kept_vs_last.py RUN_DIR --train TRAIN.xyz FILE [FILE ...]   # ~1 min per 200 frames
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch_geometric.loader import DataLoader

from gaunt_md.calculator import GauntCalculator
from gaunt_md.data import read_frames
from gaunt_md.evaluation import error_table, format_table, predictions
from gaunt_md.model import GauntForceField
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.metrics import refit_energy_shift


def last_epoch_model(run: Path) -> tuple[GauntForceField, int]:
    """The EMA weights of ``run/checkpoints/latest.pt`` in the architecture of ``best.pt``, and the epoch number."""
    model = GauntForceField.load(run / "checkpoints" / "best.pt")
    state = torch.load(run / "checkpoints" / "latest.pt", map_location="cpu", weights_only=False)
    model.load_state_dict({k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")})
    return model, state["epoch"] + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a gaunt-md fit output folder")
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--train", type=Path, required=True, help="the fit's training frames (for the energy shift)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = read_frames(args.train)
    last, epoch = last_epoch_model(args.run)
    for name, model in [("kept", GauntForceField.load(args.run / "checkpoints" / "best.pt")), (f"epoch {epoch}", last)]:
        model = model.double()
        graphs = [labelled_graph(f, model.config.r_max, model.species_of, torch.float64) for f in train]
        shift = refit_energy_shift(model, DataLoader(graphs, batch_size=4))
        calc = GauntCalculator(model, dtype="float64", threads=1)
        print(f"{name}: per-atom energy shift refitted on {args.train}: {1e3 * shift:+.3f} meV/atom")
        for path in args.files:
            frames = read_frames(path)
            print(f"  {path}", *format_table(error_table(frames, predictions(calc, frames))), sep="\n    ")


if __name__ == "__main__":
    main()
