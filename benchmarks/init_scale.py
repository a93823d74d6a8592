"""The scale of a default model at initialisation, layer by layer, against the data's (issue: accuracy).

Builds ``GauntForceField`` as ``gaunt-md fit`` does on acac (``train_300K.xyz``, E0s from
``isolated_atoms.xyz``, shift, scale and avg_num_neighbors from the first 50 frames), seed 0, float64,
and records on those 50 frames: the RMS of each layer's convolution output A per degree, of the
many-body product's output, of each readout (mean and spread over atoms), and of the predicted forces
against the reference forces (eV/Å), with the per-atom energy error (eV/atom).

    python benchmarks/init_scale.py     # a few seconds; adds this gaunt-md version to the JSON

Results: ``benchmarks/results/init_scale.json`` (one entry per gaunt-md version).
"""

from __future__ import annotations

from pathlib import Path

import torch
from _runs import merge_json, provenance
from accuracy import DATA
from torch_geometric.data import Batch

from gaunt_md import GauntForceField, __version__
from gaunt_md.config import FitConfig
from gaunt_md.train.data import load_data
from gaunt_md.train.graphs import data_statistics, labelled_graph

RESULTS = Path(__file__).resolve().parent / "results" / "init_scale.json"
FRAMES = 50


def rms_per_degree(x: torch.Tensor) -> list[float]:
    return [float(x[:, l * l : (l + 1) ** 2].pow(2).mean().sqrt()) for l in range(int(x.shape[1] ** 0.5))]


def measure() -> dict:
    torch.manual_seed(0)
    cfg = FitConfig(train=str(DATA / "acac" / "train_300K.xyz"), e0s=str(DATA / "acac" / "isolated_atoms.xyz"))
    data = load_data(cfg)
    species_of = {z: i for i, z in enumerate(data.elements)}
    frames = data.train[:FRAMES]
    graphs = [labelled_graph(f, cfg.model["r_max"], species_of, torch.float64) for f in frames]
    model = GauntForceField(elements=data.elements, e0s=data.e0s, **data_statistics(frames, graphs, data.e0s))
    seen: dict = {}

    def record(key, summary):  # a forward hook that stores summary(output) once and returns None
        return lambda module, inputs, out: seen.setdefault(key, summary(out.detach())) and None

    for t, layer in enumerate(model.layers):
        for name in ("conv", "product"):
            getattr(layer, name).register_forward_hook(record(f"layer {t} {name}", rms_per_degree))
    for t, readout in enumerate(model.readouts):
        readout.register_forward_hook(
            record(f"readout {t}", lambda out: {"mean": float(out.mean()), "std": float(out.std())})
        )
    batch = Batch.from_data_list(graphs)
    out = model(batch)
    atoms = torch.bincount(batch.batch)
    return {
        **provenance(torch.get_num_threads()),
        "frames": FRAMES,
        "rms": seen,
        "forces_rms_eV_per_A": float(out["forces"].detach().pow(2).mean().sqrt()),
        "reference_forces_rms_eV_per_A": float(batch.forces.pow(2).mean().sqrt()),
        "energy_error_mean_eV_per_atom": float(((out["energy"].detach() - batch.energy) / atoms).mean()),
    }


def main() -> None:
    result = measure()
    merge_json(RESULTS, {__version__: result}, depth=1)
    print(
        f"gaunt-md {__version__}: forces {result['forces_rms_eV_per_A']:.3f} eV/Å RMS at initialisation "
        f"(reference {result['reference_forces_rms_eV_per_A']:.3f}); "
        + "; ".join(f"{k} {[round(x, 4) for x in v] if isinstance(v, list) else v}" for k, v in result["rms"].items())
    )


if __name__ == "__main__":
    main()
