"""The model a fit kept (best validation loss) against its last epoch's, per config_type of labelled files.

`gaunt-md fit` keeps the epoch with the lowest validation loss (``checkpoints/best.pt``); ``checkpoints/latest.pt``
holds the last epoch's EMA weights. Each model gets the per-atom energy shift that `gaunt-md fit` refits at the end
(`refit_energy_shift` on ``--train``), then is evaluated in float64 on FILES as `gaunt-md eval` does (its tables).

    python benchmarks/kept_vs_last.py RUN_DIR --train TRAIN.xyz FILE [FILE ...]   # ~1 min per 200 frames
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel
from torch_geometric.loader import DataLoader

from gaunt_md.calculator import GauntCalculator
from gaunt_md.data import read_frames
from gaunt_md.evaluation import error_table, format_table, predictions
from gaunt_md.model import GauntForceField
from gaunt_md.train.graphs import labelled_graph
from gaunt_md.train.metrics import refit_energy_shift


def last_epoch_model(kept: GauntForceField, run: Path) -> tuple[GauntForceField, int]:
    """The EMA weights of ``run/checkpoints/latest.pt`` (the fit's ``AveragedModel``) in ``kept``'s architecture, and
    the epoch number."""
    state = torch.load(run / "checkpoints" / "latest.pt", map_location="cpu", weights_only=False)
    ema = AveragedModel(copy.deepcopy(kept), use_buffers=True)
    ema.load_state_dict(state["ema"])
    return ema.module, state["epoch"] + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a gaunt-md fit output folder")
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--train", type=Path, required=True, help="the fit's training frames (for the energy shift)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    kept = GauntForceField.load(args.run / "checkpoints" / "best.pt").double()
    last, epoch = last_epoch_model(kept, args.run)
    train = DataLoader(  # one architecture: the same graphs serve both models
        [labelled_graph(f, kept.config.r_max, kept.species_of, torch.float64) for f in read_frames(args.train)],
        batch_size=4,
    )
    files = {path: read_frames(path) for path in args.files}
    for name, model in [("kept", kept), (f"epoch {epoch}", last)]:
        shift = refit_energy_shift(model, train)
        calc = GauntCalculator(model, dtype="float64", threads=1)
        print(f"{name}: per-atom energy shift refitted on {args.train}: {1e3 * shift:+.3f} meV/atom")
        for path, frames in files.items():
            print(f"  {path}", *format_table(error_table(frames, predictions(calc, frames))), sep="\n    ")


if __name__ == "__main__":
    main()
