#!/usr/bin/env bash
# Path-integral MD of acac with i-PI and two gaunt-md force clients on 127.0.0.1 (one thread each).
# Run from this folder after `pip install -e ".[ipi]"`: bash run.sh   (outputs acac_pimd.*)
set -euo pipefail
cd "$(dirname "$0")"
i-pi input.xml > i-pi.log &
server=$!
for k in 1 2; do
    OMP_NUM_THREADS=1 gaunt-md serve acac.xyz --model gaunt-acac --address 127.0.0.1:31415 > client_$k.log &
done
wait "$server"  # the clients exit when i-PI sends EXIT at the end of the run
wait
tail -n 3 acac_pimd.out
