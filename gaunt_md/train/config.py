"""The resolved settings of one ``gaunt-md fit`` run (YAML file, then command-line flags)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from ..model import ModelConfig


@dataclass
class FitConfig:
    """Everything a fit needs; saved as ``config.yaml`` in the results folder."""

    train: str
    output: str = "results"
    valid: str | None = None
    valid_fraction: float = 0.1
    test: str | None = None
    energy_key: str = "energy"
    forces_key: str = "forces"
    stress_key: str | None = None
    e0s: str = "average"  # "average" (least squares) or a file of isolated atoms
    # model (GauntForceField keywords; defaults are the model's own)
    r_max: float = ModelConfig.r_max
    channels: int = ModelConfig.channels
    lmax: int = ModelConfig.lmax
    hidden_lmax: int = ModelConfig.hidden_lmax
    correlation: int = ModelConfig.correlation
    num_layers: int = ModelConfig.num_layers
    radial_groups: int = ModelConfig.radial_groups
    # optimisation
    epochs: int = 100
    max_minutes: float | None = None  # wall-time budget; stage two starts at stage_two_fraction of it
    batch_size: int = 5
    lr: float = 0.01
    weight_decay: float = 5e-7
    amsgrad: bool = True
    ema_decay: float = 0.99
    energy_weight: float = 1.0
    forces_weight: float = 100.0
    stress_weight: float = 1.0
    stage_two_fraction: float = 0.8  # after this fraction of epochs the energy weight rises
    stage_two_energy_weight: float = 1000.0
    stage_two_lr: float = 0.001  # the learning rate drops to at most this when stage two starts (as MACE's SWA lr)
    patience: int = 50
    lr_factor: float = 0.8
    lr_patience: int = 5
    clip_grad: float = 10.0
    seed: int = 0
    dtype: str = "float64"
    device: str = "auto"

    @classmethod
    def from_sources(cls, yaml_file: str | None, **flags) -> "FitConfig":
        """YAML values, overridden by the flags that are not None; unknown keys are an error."""
        values: dict = {}
        if yaml_file:
            loaded = yaml.safe_load(Path(yaml_file).read_text()) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{yaml_file} must hold a mapping of settings")
            values.update(loaded)
        values.update({k: v for k, v in flags.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")
        if "train" not in values:
            raise ValueError("no training file: give --train or 'train:' in the config")
        return cls(**values)

    def model_options(self) -> dict:
        names = ("r_max", "channels", "lmax", "hidden_lmax", "correlation", "num_layers", "radial_groups")
        return {n: getattr(self, n) for n in names}

    def save(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(asdict(self), sort_keys=False))
