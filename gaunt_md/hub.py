"""Pretrained models: a JSON registry, shipped files, a user cache and sha256-checked downloads.

A registry name (``"gaunt-acac"``, or ``"gaunt-acac@1.1"`` to pin a version; the highest version
is the default) resolves to a file in this order:

1. the folder of the registry file (by default the repository's ``models/``, which the wheel installs
   as ``gaunt_md.models``);
2. the user cache: ``$GAUNT_MD_CACHE`` if set, else ``pooch.os_cache("gaunt-md")``;
3. a download from the entry's ``url`` into the cache (with ``pooch``).

Every local file must match the registry's sha256, or it is refused. The registry is
``models/registry.json`` of the repository unless ``$GAUNT_MD_REGISTRY`` or a ``registry``
argument names another file. Its format::

    {"format": "gaunt-md-registry", "version": 1, "models": [
        {"name": "gaunt-acac", "version": "1.1", "file": "gaunt-acac-1.1.pt",
         "size": 1234567, "sha256": "<64 hex digits>", "url": "https://..." or null,
         "elements": ["H", "C", "O"], "r_max": 5.0,
         "metrics": {"test_file": "...", "energy_rmse_meV_per_atom": 0.5, "forces_rmse_meV_per_A": 20.0},
         "licence": "MIT", "description": "..."}]}

``size`` is in bytes, ``r_max`` in Å, ``metrics`` is free-form.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from pathlib import Path
from typing import Any

import pooch
import requests

from .committee import Committee, load_model_or_committee
from .model import GauntForceField

REGISTRY_ENV = "GAUNT_MD_REGISTRY"
CACHE_ENV = "GAUNT_MD_CACHE"


def _shipped_registry() -> Path:
    """The registry shipped with the package (``models/`` of the repository, installed as ``gaunt_md.models``)."""
    try:
        return Path(str(importlib.resources.files("gaunt_md.models").joinpath("registry.json")))
    except ModuleNotFoundError:  # a source tree on sys.path, not installed
        return Path(__file__).resolve().parents[1] / "models" / "registry.json"


DEFAULT_REGISTRY = _shipped_registry()
REGISTRY_FORMAT, REGISTRY_VERSION = "gaunt-md-registry", 1
FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "version": str,
    "file": str,
    "size": int,
    "sha256": str,
    "url": (str, type(None)),
    "elements": list,
    "r_max": (int, float),
    "metrics": dict,
    "licence": str,
    "description": str,
}
MODEL_SUFFIXES = (".pt", ".pth")  # a name ending so is meant as a file path
PathLike = str | Path


def registry_path(registry: PathLike | None = None) -> Path:
    """The registry file: ``registry``, else ``$GAUNT_MD_REGISTRY``, else the repository's ``models/registry.json``."""
    return Path(registry or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY).expanduser()


def cache_dir() -> Path:
    """The folder of downloaded models: ``$GAUNT_MD_CACHE``, else ``pooch.os_cache("gaunt-md")``."""
    return Path(os.environ.get(CACHE_ENV) or pooch.os_cache("gaunt-md")).expanduser()


def read_registry(registry: PathLike | None = None) -> list[dict[str, Any]]:
    """The validated entries of the registry file."""
    path = registry_path(registry)
    if not path.is_file():
        raise FileNotFoundError(f"model registry {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"model registry {path} is not valid JSON ({exc})") from None
    if not (
        isinstance(data, dict)
        and data.get("format") == REGISTRY_FORMAT
        and data.get("version") == REGISTRY_VERSION
        and isinstance(data.get("models"), list)
    ):
        raise ValueError(
            f'model registry {path} is not a gaunt-md registry: expected {{"format": "{REGISTRY_FORMAT}", '
            f'"version": {REGISTRY_VERSION}, "models": [...]}}'
        )
    for i, entry in enumerate(data["models"], start=1):
        if problem := _entry_problem(entry):
            raise ValueError(f"model registry {path}: entry {i} {problem}")
    labels = [_label(entry) for entry in data["models"]]
    if repeated := sorted({label for label in labels if labels.count(label) > 1}):
        raise ValueError(f"model registry {path} lists {', '.join(repeated)} more than once")
    return data["models"]


def list_models(registry: PathLike | None = None) -> list[dict[str, Any]]:
    """Every registry entry, plus ``local`` (bool) and ``path`` (the local file, or None)."""
    return [_with_local(entry, registry) for entry in read_registry(registry)]


def model_info(name: str, registry: PathLike | None = None) -> dict[str, Any]:
    """The registry entry of ``name`` or ``name@version``, plus ``local`` and ``path`` as in :func:`list_models`."""
    return _with_local(_entry(name, registry), registry)


def download(name: str, registry: PathLike | None = None) -> Path:
    """The verified local file of registry model ``name`` (or ``name@version``), downloaded into the cache if needed."""
    entry = _entry(name, registry)
    label, url = _label(entry), entry["url"]
    if (local := _local_file(entry, registry)) is not None:
        if (digest := pooch.file_hash(str(local), alg="sha256")) != entry["sha256"]:
            raise ValueError(
                f"{local} does not match the registry entry {label} (sha256 {digest}, expected {entry['sha256']}); "
                f"it is corrupt or a different model, so it was not loaded: delete it or replace it with the right file"
            )
        return local
    shipped, target = _places(entry, registry)
    by_hand = f"place the file at {target}, or pass a model file path instead (e.g. --model /path/to/file)"
    if url is None:
        raise FileNotFoundError(
            f"model {label} is in neither {shipped} nor {target}, and its registry entry has no download URL; {by_hand}"
        )
    try:
        pooch.retrieve(url, known_hash=f"sha256:{entry['sha256']}", fname=entry["file"], path=target.parent)
    except ValueError:  # the sha256 check (URL schemes are validated with the registry); pooch deleted the file
        raise ValueError(
            f"the file downloaded from {url} does not match the sha256 of registry entry {label}; "
            f"it was deleted and not loaded (the server has a different or corrupt file)"
        ) from None
    except Exception as exc:  # requests, ftplib and OS errors alike become one message
        raise FileNotFoundError(
            f"could not download model {label} from {url}: {_reason(exc)}; to install it by hand, {by_hand}"
        ) from None
    return target


def model_path(name_or_path: PathLike, registry: PathLike | None = None) -> Path:
    """An existing model file as given, else the file of a registry name (see :func:`download`)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if (
        isinstance(name_or_path, Path)
        or "/" in str(name_or_path)
        or os.sep in str(name_or_path)
        or path.suffix in MODEL_SUFFIXES
    ):
        raise FileNotFoundError(f"model file {path} does not exist")
    return download(str(name_or_path), registry)


def load_model(name_or_path: PathLike, registry: PathLike | None = None) -> GauntForceField | Committee:
    """A model (or a committee, see :mod:`gaunt_md.committee`) from a file path or a registry name
    (``name`` or ``name@version``), on the CPU."""
    return load_model_or_committee(model_path(name_or_path, registry))


def verify(registry: PathLike | None = None) -> list[tuple[str, str]]:
    """``(name@version, status)`` for every entry, re-hashing local files: "ok", "mismatch" or "missing"."""
    result = []
    for entry in read_registry(registry):
        local = _local_file(entry, registry)
        if local is None:
            result.append((_label(entry), "missing"))
        else:
            result.append(
                (_label(entry), "ok" if pooch.file_hash(str(local), alg="sha256") == entry["sha256"] else "mismatch")
            )
    return result


# ---- helpers -------------------------------------------------------------------------------------
def _label(entry: dict[str, Any]) -> str:
    return f"{entry['name']}@{entry['version']}"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _entry_problem(entry: Any) -> str | None:
    """Why a registry entry is invalid, or None."""
    if not isinstance(entry, dict):
        return "is not a JSON object"
    if missing := [key for key in FIELDS if key not in entry]:
        return f"lacks {', '.join(missing)}"
    if wrong := [
        key for key, kind in FIELDS.items() if not isinstance(entry[key], kind) or isinstance(entry[key], bool)
    ]:
        return f"has fields of the wrong type: {', '.join(wrong)}"
    checks = [
        (re.fullmatch(r"[\w.+-]+", entry["name"]), "name must be letters, digits, '.', '_', '+' or '-'"),
        (re.fullmatch(r"\d+(\.\d+)*", entry["version"]), 'version must look like "1.0"'),
        (
            entry["file"] == Path(entry["file"]).name and entry["file"] not in ("", ".", ".."),
            "file must be a plain file name",
        ),
        (re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), "sha256 must be 64 lowercase hex digits"),
        (
            entry["url"] is None or entry["url"].startswith(("https://", "http://", "ftp://")),
            "url must be null or an http(s) or ftp URL",
        ),
    ]
    return next((f"({entry['name']}) {message}" for ok, message in checks if not ok), None)


def _entry(name: str, registry: PathLike | None) -> dict[str, Any]:
    """The registry entry of ``name`` (highest version) or ``name@version``."""
    entries = read_registry(registry)
    base, _, version = name.partition("@")
    candidates = [entry for entry in entries if entry["name"] == base]
    if not candidates:
        known = ", ".join(sorted({entry["name"] for entry in entries})) or "none"
        raise ValueError(
            f"unknown model {name!r}: not a file and not in the registry {registry_path(registry)} (known models: {known})"
        )
    if not version:
        return max(candidates, key=lambda entry: _version_key(entry["version"]))
    if match := [entry for entry in candidates if entry["version"] == version]:
        return match[0]
    available = ", ".join(sorted((entry["version"] for entry in candidates), key=_version_key))
    raise ValueError(f"model {base!r} has no version {version!r} (available: {available})")


def _places(entry: dict[str, Any], registry: PathLike | None) -> tuple[Path, Path]:
    """Where the entry's file is looked for: beside the registry (shipped), then in the cache."""
    return registry_path(registry).parent / entry["file"], cache_dir() / entry["file"]


def _local_file(entry: dict[str, Any], registry: PathLike | None) -> Path | None:
    return next((path for path in _places(entry, registry) if path.is_file()), None)


def _with_local(entry: dict[str, Any], registry: PathLike | None) -> dict[str, Any]:
    local = _local_file(entry, registry)
    return {**entry, "local": local is not None, "path": None if local is None else str(local)}


def _reason(exc: Exception) -> str:
    """What went wrong with a download, in a few words."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}".strip()
    if isinstance(exc, requests.Timeout):
        return "the connection timed out"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect (no network, or the server is down)"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no details'}"


__all__ = [
    "cache_dir",
    "download",
    "list_models",
    "load_model",
    "model_info",
    "model_path",
    "read_registry",
    "registry_path",
    "verify",
]
