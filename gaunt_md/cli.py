"""The ``gaunt-md`` command line: click commands that call small functions of the package."""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__


def _fail_cleanly(fn):
    """Bad input (a ValueError or missing file from our checks) becomes a one-line error, exit 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="gaunt-md")
def main() -> None:
    """gaunt-md: Gaunt tensor product interatomic potentials."""


@main.command()
@click.option("--train", help="training data (extxyz or any file ase.io reads)")
@click.option("--valid", help="validation data; default: hold out --valid-fraction of --train")
@click.option("--valid-fraction", type=float)
@click.option("--test", help="test data, evaluated with the final model")
@click.option("--output", help="results folder (default: results)")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="YAML file of settings; flags override it")
@click.option("--energy-key")
@click.option("--forces-key")
@click.option("--stress-key")
@click.option("--e0s", help='"average" (least squares) or a file of isolated atoms')
@click.option("--r-max", type=float)
@click.option("--channels", type=int)
@click.option("--lmax", type=int)
@click.option("--hidden-lmax", type=int)
@click.option("--correlation", type=int)
@click.option("--num-layers", type=int)
@click.option("--radial-groups", type=int)
@click.option("--epochs", type=int)
@click.option("--batch-size", type=int)
@click.option("--lr", type=float)
@click.option("--patience", type=int)
@click.option("--seed", type=int)
@click.option("--dtype", type=click.Choice(["float32", "float64"]))
@click.option("--device")
@click.option("--resume", is_flag=True, help="continue the run in --output from its last finished epoch")
@click.option("--force", is_flag=True, help="replace an existing results folder")
@_fail_cleanly
def fit(config_file, resume, force, **flags) -> None:
    """Fit a model to labelled structures."""
    from .train import FitConfig, fit as run_fit

    output = flags.get("output") or "results"
    if resume and config_file is None and (Path(output) / "config.yaml").is_file():
        config_file = str(Path(output) / "config.yaml")
    run_fit(FitConfig.from_sources(config_file, **flags), resume=resume, force=force)


@main.command(name="eval")
@click.argument("model")
@click.argument("files", nargs=-1, required=True)
@click.option("--energy-key", default="energy", show_default=True)
@click.option("--forces-key", default="forces", show_default=True)
@click.option("--stress-key", default=None)
@click.option("--output", type=click.Path(dir_okay=False), help="write predictions (gaunt_energy, gaunt_forces) as extxyz")
@click.option("--plot", type=click.Path(dir_okay=False), help="parity plot PNG (default: parity_<file>.png beside --output, else none)")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--force", is_flag=True, help="overwrite --output and --plot files")
@_fail_cleanly
def evaluate(model, files, energy_key, forces_key, stress_key, output, plot, dtype, device, force) -> None:
    """Errors of MODEL on labelled FILES, per file and per config_type."""
    import json

    from ase.io import write

    from .calculator import GauntCalculator
    from .data import read_frames
    from .evaluation import error_table, parity_plot, predictions

    for target in (output, plot):
        if target and Path(target).exists() and not force:
            raise click.ClickException(f"{target} exists; use --force to overwrite it")
    calc = GauntCalculator(model, device=device, dtype=dtype)
    written = []
    for file in files:
        frames = read_frames(file, energy_key, forces_key, stress_key)
        preds = predictions(calc, frames)
        click.echo(f"{file}: {len(frames)} frames")
        for group, row in error_table(frames, preds).items():
            click.echo(f"  {group}: " + json.dumps({k: round(v, 3) for k, v in row.items()}))
        if plot:
            parity_plot(frames, preds, Path(plot) if len(files) == 1 else Path(plot).with_stem(f"{Path(plot).stem}_{Path(file).stem}"), Path(file).name)
        for frame, pred in zip(frames, preds):
            atoms = frame.atoms.copy()
            atoms.calc = frame.atoms.calc  # the reference labels stay as they were
            atoms.info["gaunt_energy"] = pred["energy"]
            atoms.arrays["gaunt_forces"] = pred["forces"]
            written.append(atoms)
    if output:
        write(output, written, format="extxyz")


if __name__ == "__main__":
    main()
