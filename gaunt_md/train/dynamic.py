"""The compiled training step of a set of many sizes: one graph for every atom and edge count.

A set of crystals beside their slabs, vacancies and strained cells meets a new atom count in many
batches, and a graph per shape (``gaunt_md.train.step.CompiledStep``) would compile each (minutes on a
CPU core) or leave the rare ones eager. Here the step is traced once with symbolic atom and edge
counts (``make_fx(tracing_mode="symbolic")``) and compiled once by inductor with those two sizes
dynamic (``gaunt_md.compiled.compile_dynamic_graph``); the table width and everything else stay
fixed. The width is the largest neighbour count of the training frames (bucketed), so every full
batch runs the one graph per kind (with or without stress); batches that are not full run eagerly.
On mlearn Ni (one thread, batches of two ~108-atom cells) a step takes about half the eager time, as
much as a graph compiled for its own shape, after one compilation of ~2 minutes
(``benchmarks/dynamic_step.py``). Molecule sets, one shape, stay with ``CompiledStep``: on a
molecule's small kernels the dynamic graph is 1.4x slower than a shape's own.
"""

from __future__ import annotations

import torch

from ..compiled import bucket, compile_dynamic_graph, graph_sizes, padded_inputs
from .step import LABELS, CompiledStep, trace_step

# inputs of the traced step whose sizes follow the batch, {index after the parameters: dim}: positions,
# shifts, edge_index, species, (volume), the table's edge, edge_table and neighbour, batch, (energy), forces
SIZED = {0: 0, 1: 0, 2: 1, 3: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9 + LABELS.index("forces"): 0}


def table_width(graphs) -> int:
    """The table width that fits every graph of ``graphs``: their largest neighbour count, bucketed."""
    return bucket(max(graph_sizes(g)[1] for g in graphs))


class DynamicStep(CompiledStep):
    """:class:`CompiledStep` with one graph per kind (stress or not, dtype, device) for all sizes.

    ``width``: the neighbour table's width (:func:`table_width` of the training graphs); a batch with
    more neighbours on one atom runs eagerly."""

    def __init__(self, model: torch.nn.Module, batch_size: int, width: int, **kwargs) -> None:
        super().__init__(model, batch_size, **kwargs)
        self.width = width

    def _key(self, batch, with_stress: bool) -> tuple | None:
        if graph_sizes(batch)[1] > self.width:
            return None
        return (with_stress, batch.positions.dtype, str(batch.positions.device))

    def _padded(self, batch, key: tuple) -> tuple:
        return padded_inputs(batch, self.model.config, batch.edge_index.shape[1], self.width)  # edges unpadded

    def _compile(self, key: tuple, inputs: tuple, with_stress: bool):
        traced = trace_step(
            self.model, self.names, inputs, self.width, self.batch_size, with_stress, self.delta, "symbolic"
        )
        params = len(inputs[0])
        dynamic = {params + i: dim for i, dim in SIZED.items()}
        call = compile_dynamic_graph(traced, dynamic, self.backend, inputs[1].device.type == "cpu")
        return lambda params, *rest: call(*params, *rest)

    def _shapes(self, key: tuple) -> str:
        return f"every atom and edge count (width {self.width})"


def compiled_step(model: torch.nn.Module, graphs: list, batch_size: int, **kwargs) -> CompiledStep:
    """The compiled training step for the training ``graphs``: a graph per shape where they all have
    one atom count (a molecule, a box), else one :class:`DynamicStep` for all sizes."""
    if len({g.positions.shape[0] for g in graphs}) == 1:
        return CompiledStep(model, batch_size, **kwargs)
    return DynamicStep(model, batch_size, table_width(graphs), **kwargs)
