"""Fine-tuning (``gaunt-md fit --init-model NAME|PATH``): a fit that starts from a fitted model.

The new model is the parent: its architecture, elements, E0s, energy shift and scale and neighbour
normaliser, so that before the first step it predicts exactly what the parent predicts. Flags that
would change the architecture are refused; E0s are refitted only when ``--e0s`` is given. The parent
(name or file, version, sha256 of its file) is recorded in the new model's config.
"""

from __future__ import annotations

import hashlib

from ase.data import chemical_symbols

from ..hub import model_path, read_registry
from ..model import GauntForceField


def load_parent(name_or_path: str) -> tuple[GauntForceField, dict]:
    """The parent model (float64) and its record {model, version, sha256}."""
    path = model_path(name_or_path)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    version = next((e["version"] for e in read_registry() if e["sha256"] == sha256), None)
    return GauntForceField.load(path), {"model": str(name_or_path), "version": version, "sha256": sha256}


def check_compatible(parent: GauntForceField, given: dict, elements: list[int]) -> None:
    """ValueError if model options given for the fit differ from the parent's, or if the data has
    elements the parent does not know."""
    options = parent.config.options()
    differ = [f"{k} {v!r} (parent: {options[k]!r})" for k, v in given.items() if k in options and v != options[k]]
    if differ:
        raise ValueError(
            f"--init-model keeps the parent's architecture, but these options differ: {', '.join(differ)}; leave them out"
        )
    known = set(parent.config.elements)
    if extra := sorted(set(elements) - known):
        raise ValueError(
            f"the data has {', '.join(chemical_symbols[z] for z in extra)}, which the parent model does not know "
            f"(it knows {', '.join(chemical_symbols[z] for z in sorted(known))}); fine-tuning keeps the parent's "
            "elements, because a new element's embedding and many-body weights would start untrained inside a "
            "trained network: fit a new model on data with every element instead"
        )


def child_of(parent: GauntForceField, record: dict, e0s: dict[int, float] | None) -> GauntForceField:
    """A copy of ``parent`` with ``record`` as its parent and, if given, new E0s {Z: eV}."""
    options = {**vars(parent.config), "parent": record}
    if e0s is not None:
        options["e0s"] = {**options["e0s"], **e0s}
    child = GauntForceField(**options)
    child.load_state_dict({**parent.state_dict(), "e0": child.e0})
    return child
