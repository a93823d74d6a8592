"""The validation pass of a compiled fit: the EMA model's energies, forces and stresses on the fixed
validation batches through one traced and compiled force call.

Validating acac's 50 frames eagerly took 0.82 s, about 9% of an epoch of gaunt-acac 2.5's settings,
and 0.37 s compiled (``benchmarks/fit_epoch.py``: ethanol 3.9x, 3bpa 1.35x). The validation batches
never change, so their shapes are known before the first epoch: the most common kind of batch (atom
count, with or without stress), if it holds at least half of them, compiles once, padded to the
largest edge count and table width among its batches (``gaunt_md.compiled``); the others run eagerly. Unlike a calculator's compiled call, the weights are inputs of the graph, not constants,
since the EMA weights change every step. The first call is checked against the eager model.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter

import torch

from ..blocking import whole_tensors
from ..compiled import CHECK_TOLERANCE, compile_graph, graph_sizes, padded_graph, padded_inputs, shape_key
from .metrics import predict

OUTPUTS = ("energy", "forces", "stress")


class CompiledValidation:
    """``__call__(model, index)``: the predictions (``energy [B]``, ``forces [N, 3]``, ``stress``) of
    ``model`` (the EMA copy of the trained model, same parameter layout) on ``batches[index]``."""

    def __init__(self, model: torch.nn.Module, batches: list, echo=print, backend: str = "inductor") -> None:
        self.batches, self.echo, self.backend = batches, echo, backend
        self.names = [name for name, _ in model.named_parameters()]
        self.call = None  # the compiled graph, False once it failed or disagreed
        kinds = [(int(b.positions.shape[0]), bool(b.has_stress.any())) for b in batches]
        kind, count = Counter(kinds).most_common(1)[0] if kinds else (None, 0)
        self.members = {i for i, k in enumerate(kinds) if k == kind} if 2 * count >= len(batches) else set()
        sizes = tuple(map(max, zip(*(graph_sizes(batches[i]) for i in self.members))))  # largest edges, width
        self.kind, self.key = kind, shape_key([], sizes, kind) if self.members else None
        self.inputs = {i: self._graph(batches[i], model.config) for i in self.members}

    def __call__(self, model: torch.nn.Module, index: int) -> dict[str, torch.Tensor]:
        batch = self.batches[index]
        if index not in self.members or self.call is False:
            return predict(model, batch, with_stress=bool(batch.has_stress.any()))
        params = [p.detach() for p in model.parameters()]
        if self.call is None:
            return self._first_call(model, params, index)
        return dict(zip(OUTPUTS, self.call(params, *self.inputs[index])))

    def _graph(self, batch, config) -> tuple:
        return (*padded_inputs(batch, config, *self.key[1:3]), batch.batch)

    def _first_call(self, model: torch.nn.Module, params: list, index: int) -> dict[str, torch.Tensor]:
        batch, inputs = self.batches[index], (params, *self.inputs[index])
        reference = predict(model, batch, with_stress=self.kind[1])
        start = time.perf_counter()
        try:
            self.call = compile_graph(
                trace_predictions(model, self.names, inputs, self.key[2], batch), inputs, self.backend
            )
            out = dict(zip(OUTPUTS, self.call(*inputs)))
        except Exception as exc:  # no C++ compiler, an unsupported operator: the eager pass works
            warnings.warn(
                f"compiling the validation pass failed ({type(exc).__name__}: {exc}); validating eagerly", stacklevel=3
            )
            self.call = False
            return reference
        error = (reference["forces"] - out["forces"]).abs().max().item()
        if not error <= CHECK_TOLERANCE[batch.positions.dtype]:
            warnings.warn(f"the compiled validation pass is off by {error:.3g} eV/Å; validating eagerly", stacklevel=3)
            self.call = False
            return reference
        self.echo(
            f"compiled the validation pass for {self.key[0]} atoms, {self.key[1]} edges, width {self.key[2]} "
            f"in {time.perf_counter() - start:.0f} s ({len(self.members)} of {len(self.batches)} batches)"
        )
        return out


def trace_predictions(
    model: torch.nn.Module, names: list[str], inputs: tuple, width: int, batch
) -> torch.fx.GraphModule:
    """Energies, forces (and stresses) of ``model`` in eval mode as one graph of aten operators, with the
    parameters as its first input (a list in ``model.parameters()`` order), then the padded graph of
    :func:`gaunt_md.compiled.padded_inputs` and the batch vector."""
    from torch.func import functional_call
    from torch.fx.experimental.proxy_tensor import make_fx

    buffers, num_graphs, with_stress = dict(model.named_buffers()), int(batch.num_graphs), bool(batch.has_stress.any())

    def call(params, *padded):
        graph = padded_graph(width, num_graphs, *padded)
        state = {**dict(zip(names, params)), **buffers}
        out = functional_call(model, state, (graph,), {"compute_forces": True, "compute_stress": with_stress})
        return tuple(out[k] for k in OUTPUTS if k in out)

    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad(), whole_tensors():
            return make_fx(call, tracing_mode="real")(*inputs)
    finally:
        model.train(was_training)
