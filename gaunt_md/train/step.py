"""One optimiser step of ``gaunt-md fit``, eager or through a traced and compiled training step.

A training step on small molecules spends much of its time outside arithmetic (the forces are a
first derivative and the loss gradient a second one, over thousands of small operators). With
``compile``, the step's loss and parameter gradients, backward passes included, are traced into one
graph of aten operators (``make_fx``, as ``gaunt_md.compiled`` does for force calls) and compiled by
inductor, once per shape key: (atoms, structures, padded edges, padded table width, stress or not).
Edges and table width are padded as in ``gaunt_md.compiled`` (padded edges are 3 r_max long and add
exactly nothing); atom and structure counts are not, so a training set of one molecule (or one box
size) meets one or two keys. A set of many sizes (crystals beside their slabs) compiles one graph for
all of them instead (``gaunt_md.train.dynamic``; ``compiled_step`` there picks). A kind of batch
compiles once it has come ``SIGHTINGS`` times and in at least ``SHARE`` of the batches so far, at the
largest edge count and table width its batches have had, and at most ``MAX_KEYS`` keys compile (a
minute or two each on a CPU core). Each key's first step is checked against the eager step; a key
that fails to compile or disagrees, batches that are not full, rare kinds and keys beyond
``MAX_KEYS`` run eagerly. The optimiser, gradient clipping and EMA stay eager.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter

import torch

from ..blocking import whole_tensors
from ..compiled import compile_graph, graph_sizes, padded_graph, padded_inputs, shape_key
from .metrics import loss_delta, loss_terms, predict

MAX_KEYS = 4  # compiled shapes per fit; each costs a compilation (minutes on a CPU core)
SIGHTINGS, SHARE = 2, 0.1  # an atom count compiles once seen this often and in this share of the batches so far
LABELS = ("energy", "forces", "stress", "has_stress", "weight")
TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-8}  # largest gradient difference over the largest gradient


def train_step(run, batch, weights: dict[str, float]) -> float:
    """One optimiser step on ``batch`` with loss ``Σ weights[k] · term_k``; the loss value."""
    loss = run.compiled_step(batch, weights) if run.compiled_step is not None else None
    if loss is None:
        loss = eager_loss_and_gradients(run.trainer, batch, weights, loss_delta(run.cfg))
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.clip_grad)
    run.optimizer.step()
    update_ema(run.ema, run.model, run.cfg.ema_decay)
    return loss


@torch.no_grad()
def update_ema(ema, model: torch.nn.Module, decay: float) -> None:
    """``ema`` (a ``torch.optim.swa_utils.AveragedModel`` of ``model``) ← decay · ema + (1 − decay) · model,
    as its own EMA update does, in one foreach call over the parameters alone: the model's buffers are
    constants during a fit (its own update walks them too, one by one; 1.9x faster, ``benchmarks/fit_epoch.py``)."""
    if ema.n_averaged == 0:
        ema.update_parameters(model)
        return
    torch._foreach_lerp_(
        [p.detach() for p in ema.module.parameters()], [p.detach() for p in model.parameters()], 1 - decay
    )
    ema.n_averaged += 1


def eager_loss_and_gradients(
    trainer: torch.nn.Module, batch, weights: dict[str, float], delta: float | None = None
) -> float:
    """The loss of ``batch`` (squared errors, or Huber with ``delta``), its gradients left in the
    parameters' ``.grad``."""
    terms = loss_terms(predict(trainer, batch, with_stress=bool(batch.has_stress.any())), batch, delta)
    loss = sum(weights[k] * v for k, v in terms.items())
    trainer.zero_grad(set_to_none=True)
    loss.backward()
    return loss.item()


class CompiledStep:
    """Loss and parameter gradients of a training batch through a compiled graph per shape key.

    ``__call__(batch, weights)`` sets every parameter's ``.grad`` and returns the loss, or returns
    None for a batch that should take the eager step. ``delta``: the Huber delta of the loss (None:
    squared errors). ``compile_seconds``: per key, the trace and compilation time."""

    def __init__(
        self,
        model: torch.nn.Module,
        batch_size: int,
        echo=print,
        backend: str = "inductor",
        delta: float | None = None,
    ) -> None:
        self.model, self.batch_size, self.echo, self.backend = model, batch_size, echo, backend
        self.delta = delta
        self.names = [name for name, _ in model.named_parameters()]
        self.calls: dict[tuple, object] = {}
        self.compile_seconds: dict[tuple, float] = {}
        self.batches, self.seen, self.largest = 0, Counter(), {}  # full batches; per kind: sightings, largest sizes

    def __call__(self, batch, weights: dict[str, float]) -> float | None:
        if int(batch.num_graphs) != self.batch_size:
            return None
        self.batches += 1
        with_stress = bool(batch.has_stress.any())
        key = self._key(batch, with_stress)
        if key is None:
            return None
        inputs = self._inputs(batch, key, weights)
        if key not in self.calls:
            return self._first_step(key, inputs, batch, weights, with_stress)
        if self.calls[key] is None:
            return None
        return self._apply(self.calls[key], inputs)

    def _key(self, batch, with_stress: bool) -> tuple | None:
        """The compiled shape for ``batch`` (``gaunt_md.compiled.shape_key``), a new one for a frequent
        kind of batch that none fits, or None (eager: a rare kind, or MAX_KEYS reached)."""
        kind = (batch.positions.shape[0], with_stress, batch.positions.dtype, str(batch.positions.device))
        sizes, compiled = graph_sizes(batch), [k for k, call in self.calls.items() if call is not None]
        key = shape_key(compiled, sizes, kind)
        if key in self.calls:
            return key
        self.seen[kind] += 1
        largest = self.largest[kind] = tuple(map(max, sizes, self.largest.get(kind, sizes)))
        frequent = self.seen[kind] >= max(SIGHTINGS, SHARE * self.batches)
        return shape_key(compiled, largest, kind) if frequent and len(self.calls) < MAX_KEYS else None

    def _inputs(self, batch, key: tuple, weights: dict[str, float]) -> tuple:
        """Parameters, the padded graph, labels and loss weights: the traced step's inputs."""
        graph = (*self._padded(batch, key), batch.batch)
        factors = torch.tensor([weights[k] for k in ("energy", "forces", "stress")], dtype=torch.float64)
        params = [p.detach() for p in self.model.parameters()]
        return (params, *graph, *(getattr(batch, k) for k in LABELS), factors.to(batch.positions.device))

    def _padded(self, batch, key: tuple) -> tuple:
        """The graph's inputs padded to the key's edges and width (``gaunt_md.compiled.padded_inputs``)."""
        return padded_inputs(batch, self.model.config, *key[1:3])

    def _first_step(self, key: tuple, inputs: tuple, batch, weights: dict[str, float], with_stress: bool):
        """Trace and compile a key, check its gradients against the eager step's, keep or refuse it."""
        loss = eager_loss_and_gradients(self.model, batch, weights, self.delta)
        reference = [p.grad.clone() for p in self.model.parameters()]
        start = time.perf_counter()
        try:
            call = self._compile(key, inputs, with_stress)
            with torch.no_grad():
                out = call(*inputs)
        except Exception as exc:  # no C++ compiler, an unsupported operator: the eager step works
            warnings.warn(
                f"compiling the training step failed ({type(exc).__name__}: {exc}); training eagerly", stacklevel=3
            )
            self.calls[key] = None
            return loss
        self.compile_seconds[key] = time.perf_counter() - start
        scale = max(g.abs().max().item() for g in reference) or 1.0
        error = max((g - r).abs().max().item() for g, r in zip(out[1:], reference)) / scale
        if not error <= TOLERANCE[batch.positions.dtype]:
            warnings.warn(
                f"the compiled training step's gradients are off by {error:.3g} (relative); training eagerly",
                stacklevel=3,
            )
            self.calls[key] = None
            return loss
        self.calls[key] = call
        self.echo(
            f"compiled the training step for {self._shapes(key)} "
            f"in {self.compile_seconds[key]:.0f} s (relative gradient difference to eager {error:.1e})"
        )
        return loss

    def _shapes(self, key: tuple) -> str:
        return f"{key[0]} atoms, {key[1]} edges, width {key[2]}"

    def _compile(self, key: tuple, inputs: tuple, with_stress: bool):
        traced = trace_step(self.model, self.names, inputs, key[2], self.batch_size, with_stress, self.delta)
        return compile_graph(traced, inputs, self.backend)

    def _apply(self, call, inputs: tuple) -> float:
        with torch.no_grad():
            loss, *grads = call(*inputs)
        for p, g in zip(self.model.parameters(), grads):
            p.grad = g
        return loss.item()


def trace_step(
    model: torch.nn.Module,
    names: list[str],
    inputs: tuple,
    width: int,
    num_graphs: int,
    with_stress: bool,
    delta: float | None = None,
    tracing_mode: str = "real",
) -> torch.fx.GraphModule:
    """The loss and parameter gradients of a training batch as one graph of aten operators (both
    backward passes included), for any inputs of the shapes of ``inputs`` (see ``CompiledStep._inputs``);
    with ``tracing_mode="symbolic"``, of any sizes (``gaunt_md.train.dynamic``)."""
    from torch.func import functional_call
    from torch.fx.experimental.proxy_tensor import make_fx

    buffers = dict(model.named_buffers())

    def step(params, *rest):
        *padded, factors = rest  # the padded graph, its batch vector, the labels
        graph = padded_graph(width, num_graphs, *padded[:9], **dict(zip(LABELS, padded[9:])))
        state = {**dict(zip(names, params)), **buffers}
        out = functional_call(model, state, (graph,), {"compute_forces": True, "compute_stress": with_stress})
        terms = loss_terms(out, graph, delta)
        loss = sum(factors[i] * terms[k] for i, k in enumerate(("energy", "forces", "stress")) if k in terms)
        return (loss, *torch.autograd.grad(loss, params))

    params, *rest = inputs
    with torch.enable_grad(), whole_tensors():
        # symbolic: the model's constant buffers enter the trace as real tensors beside the fake inputs
        fx = make_fx(step, tracing_mode=tracing_mode, _allow_non_fake_inputs=tracing_mode == "symbolic")
        # copies, not the inputs: these stay without grad (TorchDynamo guards on it; a change would recompile)
        return fx([p.detach().requires_grad_(True) for p in params], *rest)
