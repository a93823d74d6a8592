"""Ahead-of-time compiled force calls: a model's force call for one structure's sizes as a ``.pt2`` file.

:func:`export` traces the force call of a model on a structure, padded with headroom (edges and table
width 25% above the structure's, rounded up to a bucket of ``gaunt_md.compiled``), exports it
(``torch.export``) and compiles it ahead of time with AOTInductor into a ``.pt2`` package that holds
the kernels and the weights. :class:`ExportedForceField` runs such a file with no model code: the
neighbour list and the padding are all it needs, from the metadata stored in the package. A file
serves structures with the same number of atoms and at most its edges and neighbours per atom (an MD
run of that system); anything else gets an error that says so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import torch

from ._version import __version__
from .compiled import OUTPUTS, bucket, graph_sizes, padded_inputs, trace

HEADROOM = 1.25  # edges and neighbours per atom an exported file allows, over those of the structure it was made on
KEY = "gaunt_md"  # the package metadata entry (JSON)


def export(model, graph, path: str | Path, compute_stress: bool, source: str = "") -> dict:
    """Write the force call of ``model`` (a :meth:`GauntForceField.for_inference` copy, in the
    dtype and on the device the file will run in) on structures shaped like ``graph`` (one
    structure) to ``path`` (``.pt2``); returns the metadata stored with it."""
    path = Path(path)
    if path.suffix != ".pt2":
        raise ValueError(f"an exported force call is a .pt2 file, not {path.name}")
    edges, width = graph_sizes(graph)
    sizes = {"edges": bucket(math.ceil(HEADROOM * edges)), "width": bucket(math.ceil(HEADROOM * width))}
    inputs = padded_inputs(graph, model.config, sizes["edges"], sizes["width"])
    program = torch.export.export(trace(model, inputs, compute_stress), inputs)
    meta = {
        "gaunt_md": __version__,
        "source": source,
        "atoms": int(graph.positions.shape[0]),
        **sizes,
        "stress": compute_stress,
        "dtype": str(graph.positions.dtype).removeprefix("torch."),
        "device": graph.positions.device.type,
        "r_max": model.config.r_max,
        "radial_groups": model.config.radial_groups,
        "species_of": {str(z): i for z, i in model.species_of.items()},
    }
    configs = {"aot_inductor.metadata": {KEY: json.dumps(meta)}}
    partial = path.with_name(path.stem + ".partial.pt2")  # AOTInductor wants the suffix; readers never see half a file
    torch._inductor.aoti_compile_and_package(program, package_path=str(partial), inductor_configs=configs)
    partial.replace(path)
    return meta


class ExportedForceField:
    """A ``.pt2`` file written by :func:`export`, called like :class:`~gaunt_md.compiled.CompiledForceField`.

    ``config`` (r_max, radial_groups), ``species_of`` and ``dtype`` come from the file's metadata.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"exported model {path} does not exist")
        try:
            self.package = torch._inductor.aoti_load_package(str(path))
            meta = json.loads(self.package.get_metadata()[KEY])
        except Exception as exc:  # torch raises many types for corrupt or foreign files
            raise ValueError(
                f"{path} is not a force call exported by gaunt-md export ({type(exc).__name__}: {exc})"
            ) from None
        self.path, self.meta = path, meta
        self.config = SimpleNamespace(r_max=meta["r_max"], radial_groups=meta["radial_groups"])
        self.species_of = {int(z): i for z, i in meta["species_of"].items()}
        self.dtype = getattr(torch, meta["dtype"])
        self.device = torch.device(meta["device"])

    def __call__(self, graph, compute_stress: bool = False) -> dict[str, torch.Tensor]:
        """Energy [1] (eV), per-atom energies [N], forces [N, 3] (eV/Å) and, if the file was exported
        with it, stress [1, 3, 3] (eV/Å^3) of one structure."""
        meta = self.meta
        edges, width = graph_sizes(graph)
        n = graph.positions.shape[0]
        if n != meta["atoms"] or edges > meta["edges"] or width > meta["width"]:
            raise ValueError(
                f"{self.path} serves {meta['atoms']} atoms with up to {meta['edges']} edges and {meta['width']} "
                f"neighbours per atom; this structure has {n} atoms, {edges} edges and up to {width} neighbours: "
                "export the model again on this structure (gaunt-md export)"
            )
        if compute_stress and not meta["stress"]:
            raise ValueError(f"{self.path} was exported without stress (from a non-periodic structure)")
        inputs = padded_inputs(graph, self.config, meta["edges"], meta["width"])
        return dict(zip(OUTPUTS, self.package(*inputs)))
