"""The matrix products of one force call of a shipped model: count, shapes and FLOPs (the arithmetic floor
of issue 20). Run from the repository root: ``python benchmarks/matrix_flops.py [MODEL] [XYZ]``."""

from __future__ import annotations

import collections
import sys

import torch
from ase.io import read
from speed import MatrixProducts, gaunt_calls

from gaunt_md import GauntCalculator


def flops_of(name: str, args: list) -> tuple[int, tuple]:
    """FLOPs of one mm/addmm/bmm call (2 per multiply-add) and its operand shapes."""
    a, b = [t for t in args if isinstance(t, torch.Tensor)][-2:]
    batch = a.shape[0] if name in ("bmm", "baddbmm") else 1
    return 2 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1], (name, tuple(a.shape), tuple(b.shape))


def main(model: str = "gaunt-3bpa", xyz: str = "../shared/data/3bpa/train_300K.xyz") -> None:
    torch.set_num_threads(1)
    atoms = read(xyz, 0)
    calc = GauntCalculator(model)
    gaunt_calls(calc, atoms, 2)  # warm up
    recorder = MatrixProducts()
    with recorder:
        gaunt_calls(calc, atoms, 1)
    by_shape = collections.Counter()
    for func, args, _ in recorder.calls:
        flops, key = flops_of(func.overloadpacket.__name__, args)
        by_shape[key] += flops
    print(
        f"{model} on {len(atoms)} atoms: {len(recorder.calls)} matrix products, {sum(by_shape.values()) / 1e6:.1f} MFLOP"
    )
    for key, flops in by_shape.most_common(12):
        print(f"{flops / 1e6:8.2f} MFLOP  {key}")


if __name__ == "__main__":
    main(*sys.argv[1:])
