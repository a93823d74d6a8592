"""Model file formats: the current version, and how files of earlier versions load exactly.

- 1: one Bessel basis for all layers (``radial.frequencies``), radial MLPs under ``conv.radial``.
- 2: each convolution owns its radial function (``conv.radial.embedding``, ``conv.radial.mlp``).
- 3: constant normalisations at initialisation (the convolution's output per degree, the radial
  basis) and the channel-wise many-body product. Files of versions 1-2 load with the mixing product
  they were trained with (``many_body: mixed``) and their weights divided by the new constants, so
  they compute exactly what they computed before.
"""

from __future__ import annotations

import re

import torch

FORMAT = "gaunt-md-model"
FORMAT_VERSION = 3


def from_version_1(state: dict) -> dict:
    """Version-1 weights in version 2's names: each layer's radial MLP moved under ``conv.radial.mlp``,
    and the one Bessel basis (``radial.frequencies``) became each layer's ``conv.radial.embedding``.
    A state dict without ``radial.frequencies`` passes unchanged."""
    if "radial.frequencies" not in state:
        return state
    renamed = {
        re.sub(r"(layers\.\d+\.conv\.radial)\.", r"\1.mlp.", k, count=1): v
        for k, v in state.items()
        if k != "radial.frequencies"
    }
    layers = {m.group(1) for k in renamed if (m := re.match(r"(layers\.\d+)\.conv\.radial\.mlp\.", k))}
    renamed.update({f"{layer}.conv.radial.embedding.frequencies": state["radial.frequencies"] for layer in layers})
    return renamed


def from_version_2(state: dict, model: torch.nn.Module) -> dict:
    """Version-2 weights for ``model`` (built with ``many_body="mixed"``): version 3 multiplies each
    convolution's output of degree l by a constant and the radial basis by another; dividing the
    linear maps that read them (``linear_a`` per degree, the radial MLP's first layer) undoes both."""
    state = dict(state)
    for t, layer in enumerate(model.layers):
        conv = layer.conv
        per_degree = conv.output_norm(conv.lmax_in, conv.lmax)[[l * l for l in range(conv.lmax + 1)]]
        key = f"layers.{t}.linear_a.weight"
        state[key] = state[key] / per_degree.to(state[key])[:, None, None]
        key = f"layers.{t}.conv.radial.mlp.0.weight"
        state[key] = state[key] / conv.radial.embedding.norm
    return state


def upgrade(blob: dict, path) -> tuple[dict, int]:
    """The config of a saved model in the current version's terms, and the file's format version;
    ValueError naming the version for files newer than this gaunt-md."""
    version = blob.get("format_version")
    if version not in (1, 2, FORMAT_VERSION):
        raise ValueError(
            f"{path} has model format version {version}, but this gaunt-md reads versions 1 to "
            f"{FORMAT_VERSION}; upgrade gaunt-md or re-export the model"
        )
    cfg = dict(blob["config"])
    if version == 1:  # written before the pair prior existed: none
        cfg.setdefault("pair_repulsion", None)
    if version < 3:
        cfg["many_body"] = "mixed"
    return cfg, version
