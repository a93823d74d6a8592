"""``gaunt-md fit`` and ``gaunt-md eval``: fitting a model to labelled structures and measuring its errors."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import FitConfig, ModelConfig, default_of, user_options
from ._common import THREADS_HELP, fail_cleanly


class _Mapping(click.ParamType):
    """A YAML (or JSON) mapping given on the command line, e.g. '{Elastic: 0.1, surface: 2}'."""

    name = "MAPPING"

    def convert(self, value, param, ctx):
        import yaml

        if isinstance(value, dict):
            return value
        try:
            loaded = yaml.safe_load(value)
        except yaml.YAMLError:
            loaded = None
        if not isinstance(loaded, dict):
            self.fail(f"{value!r} is not a mapping such as '{{Elastic: 0.1}}'", param, ctx)
        return loaded


def _config_flags(fn):
    """One flag per FitConfig and ModelConfig option, with its help, unit and default. Flags left out
    are None, so that values from --config (or a resumed run's config.yaml) stand."""
    specs = [f for f in user_options(FitConfig) if f.name != "model"] + user_options(ModelConfig)
    for f in reversed(specs):
        flag, kind = "--" + f.name.replace("_", "-"), f.metadata["type"]
        default = default_of(f)
        shown = "none" if default is None else default
        where = "model: " if f in user_options(ModelConfig) else ""
        text = f"{where}{f.metadata['help']} [default: {shown}]"
        if kind is bool:
            fn = click.option(f"{flag}/--no-{flag[2:]}", f.name, default=None, help=text)(fn)
        else:
            kind = _Mapping() if kind is dict else kind
            fn = click.option(flag, f.name, type=kind, default=None, help=text)(fn)
    return fn


def _print_config(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(FitConfig.template(), nl=False)
        ctx.exit()


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML file of settings; flags override it",
)
@click.option(
    "--print-config",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_config,
    help="print a commented YAML template of every setting at its default, and exit",
)
@_config_flags
@click.option(
    "--resume",
    is_flag=True,
    help="continue the run in --output from its last finished epoch (flags given now, e.g. --epochs, are saved)",
)
@click.option(
    "--force",
    is_flag=True,
    help="replace an existing results folder (once the data and settings have passed their checks)",
)
@fail_cleanly
def fit(config_file, resume, force, **flags) -> None:
    """Fit a model to labelled structures.

    Settings come from --config (see --print-config), then the flags. The default model takes about
    20 s per epoch of 450 acac frames on one CPU thread, about 10 s with --compile (the shipped
    gaunt-acac: 513 compiled epochs in 90 minutes): give --max-minutes for a time budget.
    """
    from ..train import fit as run_fit
    from ..train.committee import fit_committee

    output = flags.get("output") or "results"
    if resume and config_file is None and (Path(output) / "config.yaml").is_file():
        config_file = str(Path(output) / "config.yaml")
    cfg = FitConfig.from_sources(config_file, **flags)
    (fit_committee if cfg.committee > 1 else run_fit)(cfg, resume=resume, force=force)


@click.command(name="eval")
@click.argument("model")
@click.argument("files", nargs=-1, required=True)
@click.option("--energy-key", default="energy", show_default=True, help="energy label (eV)")
@click.option("--forces-key", default="forces", show_default=True, help="forces label (eV/Å)")
@click.option("--stress-key", default=None, help="stress label (eV/Å^3, ASE sign)  [default: none]")
@click.option(
    "--stress-offset",
    default=0.0,
    show_default=True,
    help="isotropic stress (GPa, ASE sign) subtracted from the stress labels, as the fit's --stress-offset",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="write predictions (gaunt_energy in eV, gaunt_forces in eV/Å, gaunt_stress in eV/Å^3 Voigt) as extxyz",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    help="parity plot PNG; with several FILES one per file, PLOT_<file>.png  [default: none]",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False),
    help='write the error tables as JSON {"units": {metric: unit}, "files": {file: {group: metrics}}}',
)
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda")
@click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP)
@click.option("--force", is_flag=True, help="overwrite --output, --plot and --json files")
@fail_cleanly
def evaluate(
    model,
    files,
    energy_key,
    forces_key,
    stress_key,
    stress_offset,
    output,
    plot,
    json_file,
    dtype,
    device,
    threads,
    force,
) -> None:
    """Errors of MODEL on labelled FILES, per file and per config_type.

    For a committee also how well its force std predicts the per-atom force error (correlations, RMS
    error over RMS std: 1 when calibrated), and with --plot a calibration PNG, PLOT_uncertainty.png.
    """
    import json

    from ase.io import write

    from ..calculator import GauntCalculator
    from ..data import read_frames
    from ..errors import UNITS
    from ..evaluation import error_table, format_table, parity_plot, predictions

    for target in (output, plot, json_file):
        if target and Path(target).exists() and not force:
            raise click.ClickException(f"{target} exists; use --force to overwrite it")
    calc = GauntCalculator(model, device=device, dtype=dtype, threads=threads)
    written, tables, uncertainty = [], {}, {}
    for file in files:
        frames = read_frames(file, energy_key, forces_key, stress_key, stress_offset=stress_offset)
        preds = predictions(calc, frames, desc=Path(file).name)
        tables[file] = error_table(frames, preds)
        click.echo(f"{file}: {len(frames)} frames")
        for line in format_table(tables[file]):
            click.echo("  " + line)
        png = None
        if plot:
            png = Path(plot) if len(files) == 1 else Path(plot).with_stem(f"{Path(plot).stem}_{Path(file).stem}")
            parity_plot(frames, preds, tables[file]["all"], png, Path(file).name)
        if calc.is_committee:
            uncertainty[file] = _uncertainty(frames, preds, png, Path(file).name, calc.model.max_force_std)
        for frame, pred in zip(frames, preds):
            atoms = frame.atoms.copy()
            atoms.calc = frame.atoms.calc  # the reference labels stay as they were
            atoms.info["gaunt_energy"] = pred["energy"]
            atoms.arrays["gaunt_forces"] = pred["forces"]
            if pred["stress"] is not None:
                atoms.info["gaunt_stress"] = pred["stress"]
            if pred["forces_std"] is not None:
                atoms.arrays["gaunt_forces_std"] = pred["forces_std"]
            written.append(atoms)
    if output:
        write(output, written, format="extxyz")
    if json_file:
        result = {"units": UNITS, "files": tables} | ({"uncertainty": uncertainty} if uncertainty else {})
        Path(json_file).write_text(json.dumps(result, indent=2, ensure_ascii=False))


def _uncertainty(frames, preds, png: Path | None, title: str, threshold: float | None) -> dict:
    """A committee's force std against its per-atom force errors: printed, plotted beside ``png``;
    with the committee's MD ``threshold`` (eV/Å) also the frames it would flag and their errors."""
    import numpy as np

    from ..uncertainty import calibration_plot, errors_and_stds, frame_max_stds, uncertainty_metrics

    errors, stds = errors_and_stds(frames, preds)
    u = uncertainty_metrics(errors, stds)
    click.echo(
        f"  committee force std vs per-atom error ({u['atoms']} atoms): Pearson {u['pearson']:.2f}, Spearman "
        f"{u['spearman']:.2f}; RMS error {u['rms_error']:.1f}, RMS std {u['rms_std']:.1f} meV/Å (ratio "
        f"{u['error_over_std']:.2f}); {100 * u['within_2_std']:.0f}% of errors within 2 std"
    )
    if threshold is not None:
        flagged = frame_max_stds(preds) > threshold
        worst = 1e3 * np.array([np.linalg.norm(p["forces"] - f.forces, axis=1).max() for f, p in zip(frames, preds)])
        u["frames_above_max_force_std"] = int(flagged.sum())
        u["max_error_flagged"] = float(worst[flagged].mean()) if flagged.any() else None
        u["max_error_others"] = float(worst[~flagged].mean()) if (~flagged).any() else None
        click.echo(
            f"  {flagged.sum()} of {len(frames)} frames above the committee's MD threshold ({threshold:.3f} eV/Å); "
            "their mean largest per-atom force error "
            + " vs the others': ".join(
                f"{v:.0f}" if v is not None else "-" for v in (u["max_error_flagged"], u["max_error_others"])
            )
            + " meV/Å"
        )
    if png is not None:
        calibration_plot(errors, stds, png.with_stem(f"{png.stem}_uncertainty"), title)
    return u
