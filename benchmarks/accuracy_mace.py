"""The MACE half of ``benchmarks/accuracy.py``: the same split written for mace-torch, its fit and its test errors.

Run through ``python benchmarks/accuracy.py mace SYSTEM --epochs N`` (see that module's docstring).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from accuracy import SYSTEMS, WORK, record


def _split(system: str, folder: Path, limit: int | None = None) -> tuple[Path, Path, Path]:
    """Train/validation/test files with ``REF_energy``/``REF_forces`` labels (what mace-torch 0.3 reads),
    split exactly as ``gaunt-md fit`` splits (seed 0 permutation), in ``folder``; ``limit`` keeps the
    first frames of each (a smoke run of the pipeline, not a result)."""
    from ase.io import write

    from gaunt_md.data import read_frames, validation_split

    train, test, _, valid_fraction = SYSTEMS[system]
    folder.mkdir(parents=True, exist_ok=True)

    def relabel(frames):
        out = []
        for f in frames:
            atoms = f.atoms.copy()
            atoms.calc = None
            atoms.info["REF_energy"], atoms.arrays["REF_forces"] = f.energy, f.forces
            out.append(atoms)
        return out

    frames = read_frames(train)
    valid, training = validation_split(len(frames), valid_fraction, seed=0)
    paths = folder / "train.xyz", folder / "valid.xyz", folder / "test.xyz"
    cut = slice(None, limit)
    write(paths[0], relabel([frames[i] for i in training][cut]))
    write(paths[1], relabel([frames[i] for i in valid][cut]))
    write(paths[2], relabel(read_frames(test)[cut]))
    return paths


def run_mace(system: str, epochs: int, mace_python: Path, threads: int, limit: int | None = None) -> None:
    """MACE at the size of gaunt-md's defaults (128x0e+128x1o hidden, L=3, correlation 3, 2 layers,
    r_max 5 Å, float64, batch 5, lr 0.01, EMA 0.99, AMSGrad, stage two for the last 20%), trained
    for ``epochs`` on the same split, evaluated on the same test file."""
    import numpy as np
    from ase.io import read

    from gaunt_md.data import e0s_from_isolated_atoms
    from gaunt_md.errors import error_metrics

    out = WORK / system / ("mace" if limit is None else "mace_smoke")
    if out.exists():
        shutil.rmtree(out)
    train, valid, test = _split(system, out / "data", limit)
    present = {int(z) for atoms in read(train, ":") for z in atoms.numbers}
    # MACE sizes its atomic-energy table from the E0s given: only the elements of the data
    e0s = {z: e for z, e in e0s_from_isolated_atoms(SYSTEMS[system][2]).items() if int(z) in present}
    bin_dir = mace_python.parent
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [
        str(bin_dir / "mace_run_train"),
        "--name",
        "mace",
        "--train_file",
        str(train),
        "--valid_file",
        str(valid),
        "--E0s",
        str({int(z): e for z, e in e0s.items()}),
        "--energy_key",
        "REF_energy",
        "--forces_key",
        "REF_forces",
        "--model",
        "MACE",
        "--hidden_irreps",
        "128x0e + 128x1o",
        "--max_ell",
        "3",
        "--correlation",
        "3",
        "--num_interactions",
        "2",
        "--r_max",
        "5.0",
        "--batch_size",
        "5",
        "--valid_batch_size",
        "10",
        "--max_num_epochs",
        str(epochs),
        "--lr",
        "0.01",
        "--ema",
        "--ema_decay",
        "0.99",
        "--amsgrad",
        "--swa",
        "--start_swa",
        str(max(1, int(0.8 * epochs))),
        "--energy_weight",
        "1",
        "--forces_weight",
        "100",
        "--default_dtype",
        "float64",
        "--device",
        "cpu",
        "--seed",
        "0",
        "--eval_interval",
        "1",
        "--patience",
        "1000",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=out, env=env, check=True)
    wall = time.perf_counter() - t0
    model = next(p for p in [out / "mace_stagetwo.model", out / "mace.model"] if p.is_file())
    subprocess.run(
        [
            str(bin_dir / "mace_eval_configs"),
            "--configs",
            str(test),
            "--model",
            str(model),
            "--output",
            str(out / "pred.xyz"),
            "--default_dtype",
            "float64",
            "--device",
            "cpu",
        ],
        cwd=out,
        env=env,
        check=True,
    )
    pred, ref = read(out / "pred.xyz", ":"), read(test, ":")
    et = np.array([p.info["MACE_energy"] - r.info["REF_energy"] for p, r in zip(pred, ref)])
    f = np.concatenate([(p.arrays["MACE_forces"] - r.arrays["REF_forces"]).ravel() for p, r in zip(pred, ref)])
    row = {"minutes": wall / 60, "epochs": epochs, **error_metrics(et, np.array([len(r) for r in ref]), f)}
    if limit is None:
        record(system, "mace", {"threads": threads, "runs": {"final": row}})
    else:
        print(json.dumps(row, indent=2))
