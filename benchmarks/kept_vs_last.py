"""The model a fit kept (best validation loss) against its last epoch's, per config_type of a labelled file.

`gaunt-md fit` keeps the epoch with the lowest validation loss (``checkpoints/best.pt``); ``checkpoints/latest.pt``
holds the last epoch's EMA weights. Both are evaluated in float64 on FILES. Before the energies are compared, each
model's per-atom energy is shifted by its mean per-atom error on ``--train`` (the refit that `gaunt-md fit` makes at
the end, for a one-element model). Energy MAE in meV/atom, force MAE in meV/Å over all atoms of a group.

    python benchmarks/kept_vs_last.py RUN_DIR --train TRAIN.xyz FILE [FILE ...]   # ~1 min per 200 frames
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from ase.io import read

from gaunt_md.calculator import GauntCalculator
from gaunt_md.model import GauntForceField


def last_epoch_model(run: Path) -> tuple[GauntForceField, int]:
    """The EMA weights of ``run/checkpoints/latest.pt`` in the architecture of ``best.pt``, and the epoch number."""
    model = GauntForceField.load(run / "checkpoints" / "best.pt")
    state = torch.load(run / "checkpoints" / "latest.pt", map_location="cpu", weights_only=False)
    ema = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
    model.load_state_dict(ema)
    return model, state["epoch"] + 1


def errors(calc: GauntCalculator, frames: list) -> list[tuple[str, float, np.ndarray]]:
    """Per frame: config_type, energy error (meV/atom), absolute force errors (meV/Å, shape (n, 3))."""
    rows = []
    for atoms in frames:
        copy = atoms.copy()
        copy.calc = calc
        de = 1000 * (copy.get_potential_energy() - atoms.get_potential_energy()) / len(atoms)
        rows.append((atoms.info.get("config_type", "all"), de, 1000 * np.abs(copy.get_forces() - atoms.get_forces())))
    return rows


def table(rows: list, shift: float) -> dict[str, str]:
    """E MAE / F MAE (frames) per config_type and over all frames."""
    groups: dict[str, list] = {"all": rows}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    return {
        name: f"{np.mean([abs(e - shift) for _, e, _ in g]):.2f} / {np.concatenate([f for *_, f in g]).mean():.1f} "
        f"({len(g)})"
        for name, g in groups.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a gaunt-md fit output folder")
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--train", type=Path, required=True, help="the fit's training frames (for the energy shift)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    last, epoch = last_epoch_model(args.run)
    train = read(args.train, ":")
    for name, model in [("kept", GauntForceField.load(args.run / "checkpoints" / "best.pt")), (f"epoch {epoch}", last)]:
        calc = GauntCalculator(model, dtype="float64", threads=1)
        on_train = errors(calc, train)
        shift = float(np.mean([e for _, e, _ in on_train]))
        print(f"{name}: per-atom shift {shift:+.2f} meV/atom; E MAE meV/atom / F MAE meV/Å (frames)")
        for path in args.files:
            rows = on_train if path.resolve() == args.train.resolve() else errors(calc, read(path, ":"))
            print(f"  {path}: {table(rows, shift)}")


if __name__ == "__main__":
    main()
