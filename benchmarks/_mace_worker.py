"""MACE side of benchmarks/speed.py; runs in MACE's own venv and answers timing requests on stdin.

Arguments: model path, threads, hidden degree L (hidden irreps 128 channels of each degree up to L),
atomic numbers (comma-separated). Protocol: one JSON line per request {"file": path, "index": i, "repeat": [nx, ny, nz], "calls": k}; the
reply is {"seconds": t, "atoms": n, "maxrss_mb": m}, t the mean time of k energy+forces(+stress) calls,
each recomputing everything.
"""

import json
import resource
import sys
import time

import numpy as np
import torch
from ase.io import read
from e3nn import o3
from mace import modules
from mace.calculators import MACECalculator

torch.set_num_threads(int(sys.argv[2]))
torch.set_default_dtype(torch.float32)
hidden_lmax, numbers = int(sys.argv[3]), [int(z) for z in sys.argv[4].split(",")]
block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
model = modules.MACE(
    r_max=5.0,
    num_bessel=8,
    num_polynomial_cutoff=5,
    max_ell=3,
    interaction_cls=block,
    interaction_cls_first=block,
    num_interactions=2,
    num_elements=len(numbers),
    hidden_irreps=o3.Irreps("+".join(f"128x{o3.Irrep(l, (-1) ** l)}" for l in range(hidden_lmax + 1))),
    MLP_irreps=o3.Irreps("16x0e"),
    atomic_energies=np.zeros(len(numbers)),
    avg_num_neighbors=10.0,
    atomic_numbers=numbers,
    correlation=3,
    gate=torch.nn.functional.silu,
)
torch.save(model, sys.argv[1])
calc = MACECalculator(model_paths=sys.argv[1], device="cpu", default_dtype="float32")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    atoms = read(req["file"], req["index"]).repeat(req["repeat"])
    atoms.calc = calc
    t0 = time.perf_counter()
    for _ in range(req["calls"]):
        calc.reset()  # as in MD: every call computes
        atoms.get_forces()
        if atoms.pbc.all():
            atoms.get_stress()
    seconds = (time.perf_counter() - t0) / req["calls"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "atoms": len(atoms), "maxrss_mb": rss}), flush=True)
