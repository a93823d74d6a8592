#!/usr/bin/env bash
# The same three tasks from the command line. Run from the repository root: bash examples/cli.sh
set -euo pipefail
out=${1:-examples/_out}
mkdir -p "$out"
python - "$out" <<'PY'
import sys
from ase.io import read, write
atoms = read("../shared/data/acac/test_MD_300K.xyz", 0)
atoms.rattle(0.05, seed=0)
write(f"{sys.argv[1]}/acac_rattled.xyz", atoms)
PY
# relax a molecule: trajectory and final structure, summary, exit code 1 if not converged
gaunt-md relax "$out/acac_rattled.xyz" --model gaunt-acac --fmax 0.01 --optimizer BFGS --output "$out/acac_relax" --force
# NVT MD of the molecule: CSV log, trajectory, energy/temperature plot, live ns/day
gaunt-md md "$out/acac_relax_final.extxyz" --model gaunt-acac --ensemble nvt --temperature 300 --timestep 0.5 \
    --steps 1000 --output "$out/acac_nvt" --force
# NVT MD of the periodic water box (float32 for speed)
gaunt-md md ../shared/data/water/test.xyz --index 0 --model gaunt-water --dtype float32 --ensemble nvt \
    --temperature 300 --steps 200 --output "$out/water_nvt" --force
