"""Every setting of a model and of a fit, each defined once with its default, unit and help.

:class:`ModelConfig` holds a model's hyperparameters (saved with its weights); :class:`FitConfig`
holds a ``gaunt-md fit`` run, with the model's options in its ``model:`` block (as nequip separates
model and training settings). The command line's flags and ``gaunt-md fit --print-config`` are made
from these fields. This module imports no torch, so ``gaunt-md --help`` stays fast.
"""

from __future__ import annotations

import contextlib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

DTYPES = ("float32", "float64")
PAIR_REPULSIONS = (None, "zbl")
LOSSES = ("mse", "huber")


def option(default: Any, help: str, type: type | None = None) -> Any:
    """A dataclass field that is a user option: its help (with units) and value type go to the CLI."""
    kind = type or (default.__class__ if default is not None else str)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default.copy(), metadata={"help": help, "type": kind})
    return field(default=default, metadata={"help": help, "type": kind})


def user_options(cls) -> list:
    """The fields of a config dataclass that users set (those made by :func:`option`)."""
    return [f for f in fields(cls) if "help" in f.metadata]


def default_of(f) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


def check_types(config: Any) -> None:
    """Give each user option of ``config`` its declared type, or ValueError naming the option.

    YAML 1.1 (PyYAML) reads ``1e-3`` as text, so numbers written that way become floats here.
    """
    for f in user_options(type(config)):
        value, kind = getattr(config, f.name), f.metadata["type"]
        if value is None or kind not in (int, float, bool):
            continue
        if not isinstance(value, bool):
            if kind is float:
                with contextlib.suppress(TypeError, ValueError):
                    value = float(value)
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            article = "an" if kind is int else "a"
            raise ValueError(f"{f.name} must be {article} {kind.__name__}, got {value!r}")
        setattr(config, f.name, value)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a :class:`~gaunt_md.GauntForceField`; saved with its weights.

    ``elements`` (atomic numbers) and the fields after ``many_body`` are set from the training data by
    ``gaunt-md fit`` (``parent`` by a fine-tuning fit); the others are the hyperparameters a user chooses.
    """

    elements: list[int] = field(default_factory=lambda: [1, 6, 8])
    r_max: float = option(5.0, "cutoff radius (Å): neighbours within it interact")
    channels: int = option(128, "feature channels per degree")
    lmax: int = option(3, "degree of the edge filters' spherical harmonics and of the neighbour density")
    hidden_lmax: int = option(2, "degree of the node features passed between layers (the last layer keeps 0)")
    correlation: int = option(3, "body order of the many-body product (products of up to this many densities)")
    num_layers: int = option(2, "message-passing layers; the receptive field is num_layers · r_max")
    num_basis: int = option(8, "Bessel radial basis functions")
    radial_hidden: int = option(64, "width of the radial MLP")
    radial_groups: int = option(8, "distinct radial filters per degree; channels share them in equal groups")
    radial_by_input: bool = option(
        False,
        "radial filters per pair of degrees (input feature, filter) instead of per filter degree, as MACE's paths",
    )
    many_body_rank: int = option(
        1,
        "independent many-body products per channel, mixed per output degree after it (the rank of the product's "
        "path weights; MACE weighs every path independently); each costs one product's time",
    )
    pair_repulsion: str | None = option(
        "zbl",
        "pair prior added to the energy: zbl (screened nuclear repulsion below 0.5-0.75 covalent-radius "
        "sums, zero at bonding distances and on every pair of the training data) or none",
        str,
    )
    many_body: str = "channel"  # "mixed": the many-body product of model formats 1-2 (their files load with it)
    avg_num_neighbors: float = 10.0  # normaliser of the neighbour sum
    e0s: dict[int, float] = field(default_factory=dict)  # isolated-atom energies {Z: eV}
    closest_pairs: dict[str, float] = field(default_factory=dict)  # {"H-O": Å} the data's closest approach
    parent: dict = field(default_factory=dict)  # of a fine-tuned model: {model, version, sha256} it started from
    scale: float = 1.0  # per-atom energy scale (eV)
    shift: float = 0.0  # per-atom energy shift (eV)

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("avg_num_neighbors", "scale", "shift"):  # set by gaunt-md fit; r_max by check_types
            setattr(self, name, float(getattr(self, name)))
        if (
            min(
                self.channels,
                self.num_layers,
                self.correlation,
                self.num_basis,
                self.radial_hidden,
                self.radial_groups,
                self.many_body_rank,
            )
            < 1
        ):
            raise ValueError(
                "channels, num_layers, correlation, num_basis, radial_hidden, radial_groups and many_body_rank must be ≥ 1"
            )
        if min(self.lmax, self.hidden_lmax) < 0 or self.r_max <= 0:
            raise ValueError("lmax and hidden_lmax must be ≥ 0 and r_max > 0 (Å)")
        if self.pair_repulsion in ("none", "None"):
            self.pair_repulsion = None
        if self.pair_repulsion not in PAIR_REPULSIONS:
            raise ValueError(f"pair_repulsion must be none or zbl, got {self.pair_repulsion!r}")
        if self.many_body not in ("channel", "mixed"):
            raise ValueError(f"many_body must be channel or mixed, got {self.many_body!r}")
        if self.many_body == "mixed" and self.many_body_rank != 1:
            raise ValueError("many_body_rank applies to the channel-wise product only (many_body: channel)")
        if self.channels % self.radial_groups:
            raise ValueError(f"channels ({self.channels}) must be a multiple of radial_groups ({self.radial_groups})")

    def options(self) -> dict[str, Any]:
        """The user-chosen hyperparameters (a fit's ``model:`` block)."""
        return {f.name: getattr(self, f.name) for f in user_options(ModelConfig)}


MODEL_OPTIONS = [f.name for f in user_options(ModelConfig)]


@dataclass
class FitConfig:
    """Everything a fit needs; saved as ``config.yaml`` in the results folder."""

    train: str | None = option(None, "training data (extxyz or any file ase.io reads)", str)
    output: str = option("results", "results folder")
    valid: str | None = option(None, "validation data; default: hold out valid_fraction of train", str)
    valid_fraction: float = option(0.1, "fraction of train held out for validation when valid is not given")
    test: str | None = option(None, "test data, evaluated with the final model", str)
    energy_key: str = option("energy", "energy label (eV): a calculator result or an info key such as REF_energy")
    forces_key: str = option("forces", "forces label (eV/Å): a calculator result or an array such as REF_forces")
    stress_key: str | None = option(None, "stress label (eV/Å^3, ASE sign)", str)
    stress_offset: float = option(
        0.0,
        "constant isotropic stress (GPa, ASE sign) subtracted from every stress label, e.g. a Pulay stress that "
        "makes stresses and energies disagree on the equilibrium volume",
    )
    e0s: str | None = option(
        None,
        "isolated-atom energies: average (least squares) or a file of isolated atoms; default average, or with "
        "init_model the parent's",
        str,
    )
    init_model: str | None = option(
        None, "fine-tune: start from this model (pretrained name or file) and keep its architecture and E0s", str
    )
    model: dict = option({}, "model hyperparameters (see the model options); defaults are the model's own", dict)
    epochs: int = option(100, "maximum epochs")
    max_minutes: float | None = option(
        None, "wall-time budget (min); training stops after the epoch that exceeds it", float
    )
    batch_size: int = option(2, "structures per batch")
    lr: float = option(0.01, "learning rate (Adam)")
    weight_decay: float = option(5e-7, "Adam weight decay")
    amsgrad: bool = option(True, "use AMSGrad")
    ema_decay: float = option(0.99, "decay of the exponential moving average of the weights")
    energy_weight: float = option(1.0, "loss weight of the energy per atom ((eV/atom)^-2)")
    forces_weight: float = option(100.0, "loss weight of the force components ((eV/Å)^-2)")
    stress_weight: float = option(1.0, "loss weight of the stress components (GPa^-2)")
    loss: str = option("mse", "mse (squared errors) or huber (squared up to huber_delta, linear beyond)")
    huber_delta: float = option(
        0.01, "with loss huber: the error where the penalty turns linear (eV/atom, eV/Å and GPa for each term)"
    )
    config_type_weights: dict = option(
        {}, "loss weight of the frames of each config_type, e.g. '{Elastic: 0.1}' (others: 1)", dict
    )
    config_type_repeats: dict = option({}, "copies per epoch of a config_type's training frames: '{Surface: 3}'", dict)
    stage_two_fraction: float = option(0.8, "fraction of the epochs (or of max_minutes) after which stage two starts")
    stage_two_energy_weight: float = option(1000.0, "energy loss weight in stage two ((eV/atom)^-2)")
    stage_two_lr: float = option(0.001, "stage two lowers the learning rate to at most this")
    patience: int = option(50, "stop after this many stage-two epochs without a better validation loss")
    lr_schedule: str = option(
        "cosine",
        "cosine (to lr/100 over the epochs or max_minutes) or plateau (cut by lr_factor when validation stalls)",
    )
    lr_factor: float = option(0.8, "factor of the plateau learning-rate schedule")
    lr_patience: int = option(5, "epochs without improvement before the learning rate drops")
    clip_grad: float = option(10.0, "gradient norm clip")
    seed: int = option(0, "random seed (split, weights, batches)")
    committee: int = option(
        1, "train this many models (seeds seed, seed+1, ...; one validation split) into OUTPUT/member_K and a committee"
    )
    bootstrap: bool = option(
        False, "each committee member trains on a resample (with replacement) of the training frames"
    )
    member: int = option(
        0, "committee member index: added to the seed of the weights, batches and bootstrap, not the split"
    )
    dtype: str = option(
        "float32", "float32 (the default: more epochs per minute, energies still summed in float64) or float64"
    )
    device: str = option("auto", "auto, cpu or cuda")
    compile: bool = option(
        False,
        "train through a traced, inductor-compiled step (loss and gradients; minutes to compile, then ~2x faster "
        "steps on small molecules; one process)",
    )
    threads: int | None = option(None, "CPU threads for torch; default: torch's (the number of cores)", int)

    def __post_init__(self) -> None:
        check_types(self)
        unknown = sorted(set(self.model) - set(MODEL_OPTIONS))
        if unknown:
            raise ValueError(f"unknown model option(s): {', '.join(unknown)}; valid: {', '.join(MODEL_OPTIONS)}")
        self.given_model = dict(self.model)  # what the user chose (init_model refuses what differs from the parent)
        self.model = ModelConfig(**self.model).options()  # checks the values and fills in the defaults

    def check(self) -> None:
        """Refuse settings that cannot run, before a fit touches any file."""
        if not self.train:
            raise ValueError("no training file: give --train or 'train:' in the config")
        if not self.valid and not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid_fraction must be in (0, 1), got {self.valid_fraction}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ValueError(
                f"epochs, batch_size and patience must be ≥ 1 (got {self.epochs}, {self.batch_size}, {self.patience})"
            )
        if self.lr <= 0 or (self.max_minutes is not None and self.max_minutes <= 0):
            raise ValueError("lr and max_minutes must be > 0")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; use float32 or float64")
        if self.loss not in LOSSES or self.huber_delta <= 0:
            raise ValueError(f"loss must be mse or huber and huber_delta > 0 (got {self.loss!r}, {self.huber_delta})")
        bad = {k: w for k, w in self.config_type_weights.items() if not isinstance(w, (int, float)) or w < 0}
        bad |= {k: n for k, n in self.config_type_repeats.items() if type(n) is not int or n < 1}
        if bad:
            raise ValueError(f"config_type_weights must be numbers ≥ 0 and config_type_repeats integers ≥ 1, got {bad}")
        if self.lr_schedule not in ("plateau", "cosine"):
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; use plateau or cosine")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"unknown device {self.device!r}; use auto, cpu or cuda")
        if self.committee < 1 or self.member < 0:
            raise ValueError(f"committee must be ≥ 1 and member ≥ 0 (got {self.committee}, {self.member})")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be ≥ 1, got {self.threads}")

    @classmethod
    def from_sources(cls, yaml_file: str | Path | None = None, **flags: Any) -> FitConfig:
        """YAML values, overridden by the flags that are not None (model options may be given flat,
        as flags are); unknown keys are an error."""
        values: dict = {}
        if yaml_file:
            loaded = yaml.safe_load(Path(yaml_file).read_text()) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{yaml_file} must hold a mapping of settings")
            values.update(loaded)
        values.update({k: v for k, v in flags.items() if v is not None})
        model = dict(values.pop("model", None) or {})
        model.update({k: values.pop(k) for k in MODEL_OPTIONS if k in values})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown config key(s): {', '.join(unknown)}; valid keys: {', '.join(sorted(known | set(MODEL_OPTIONS)))}"
            )
        return cls(**values, model=model)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(asdict(self), sort_keys=False, allow_unicode=True))

    @classmethod
    def template(cls) -> str:
        """A commented YAML file of every setting at its default (``gaunt-md fit --print-config``)."""
        lines = ["# gaunt-md fit settings: gaunt-md fit --config THIS_FILE (flags override it)"]
        for f in user_options(cls):
            if f.name == "model":
                lines.append("model:  # the model's hyperparameters")
                lines += [
                    _yaml_line(m.name, default_of(m), m.metadata["help"], "  ") for m in user_options(ModelConfig)
                ]
            else:
                lines.append(_yaml_line(f.name, default_of(f), f.metadata["help"]))
        return "\n".join(lines) + "\n"


def _yaml_line(name: str, value: Any, help: str, indent: str = "") -> str:
    text = yaml.safe_dump({name: value}, default_flow_style=True, allow_unicode=True).strip()[1:-1]
    return f"{indent}{text}  # {help}"
