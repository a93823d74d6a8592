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
    import faulthandler
    import signal
    import sys

    if hasattr(signal, "SIGUSR1") and sys.__stderr__ is not None:  # `kill -USR1 PID` prints where a stuck run is
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)


def _calculator(model: str, device: str, dtype: str, threads: int | None = None):
    from .calculator import GauntCalculator

    return GauntCalculator(model, device=device, dtype=dtype, threads=threads)


THREADS_HELP = "CPU threads for torch (default: torch's, usually the number of cores; use fewer when other work runs)"


def _structure_options(fn):
    for option in reversed([
        click.argument("structure", type=click.Path(exists=True, dir_okay=False)),
        click.option("--model", required=True, help="pretrained model name or model file"),
        click.option("--index", default="-1", show_default=True, help="frame of STRUCTURE to use (ase.io.read index)"),
        click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda"),
        click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True,
                     help="float64 conserves energy best; float32 is faster"),
        click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP),
        click.option("--force", is_flag=True, help="replace existing output files (once the new run has checked its input)"),
    ]):
        fn = option(fn)
    return fn


@main.command()
@_structure_options
@click.option("--optimizer", type=click.Choice(["FIRE", "BFGS", "LBFGS"]), default="FIRE", show_default=True)
@click.option("--fmax", type=float, default=0.05, show_default=True, help="force convergence threshold (eV/Å)")
@click.option("--steps", type=int, default=1000, show_default=True, help="maximum optimiser steps")
@click.option("--cell", is_flag=True, help="relax the cell too (FrechetCellFilter)")
@click.option("--cell-mode", type=click.Choice(["full", "hydrostatic", "constant-volume"]), default="full", show_default=True,
              help="hydrostatic keeps the cell shape, constant-volume the volume")
@click.option("--pressure", type=float, default=0.0, show_default=True, help="external pressure with --cell (GPa)")
@click.option("--symmetry", is_flag=True, help="keep the space group (ase FixSymmetry, needs spglib)")
@click.option("--output", default="relax", show_default=True,
              help="prefix of the outputs: PREFIX.extxyz (trajectory) and PREFIX_final.extxyz")
@_fail_cleanly
def relax(structure, model, index, device, dtype, threads, force, optimizer, fmax, steps, cell, cell_mode, pressure, symmetry,
          output) -> None:
    """Relax the atoms (and with --cell the cell) of STRUCTURE."""
    from ase.io import write

    from .data import read_structure, snapshot
    from .files import Outputs
    from .relax import relax as run_relax

    outputs = Outputs(output, [".extxyz", "_final.extxyz"], structure, replace=force)
    trajectory, final = outputs.paths
    atoms = read_structure(structure, index)
    atoms.calc = _calculator(model, device, dtype, threads)
    click.echo(f"relaxing {atoms.get_chemical_formula()} ({len(atoms)} atoms) from {structure} with {optimizer}, fmax {fmax} eV/Å")
    result = run_relax(atoms, optimizer, fmax, steps, cell, cell_mode, pressure, symmetry, trajectory, before_writing=outputs.claim)
    write(final, snapshot(atoms), format="extxyz")
    click.echo(result.summary())
    click.echo(f"wrote {trajectory} and {final}")
    if not result.converged:
        raise click.ClickException(f"not converged: max force {result.max_force:.4f} eV/Å after {result.steps} steps (fmax {fmax}); "
                                   "raise --steps or try another --optimizer")


@main.command()
@_structure_options
@click.option("--ensemble", type=click.Choice(["nve", "nvt", "npt"]), default="nvt", show_default=True)
@click.option("--thermostat", type=click.Choice(["langevin", "nose-hoover"]), default="langevin", show_default=True, help="for nvt")
@click.option("--barostat", type=click.Choice(["isotropic", "anisotropic"]), default="isotropic", show_default=True,
              help="for npt: ASE's MTK (Nosé-Hoover chain) barostat")
@click.option("--temperature", type=float, default=300.0, show_default=True, help="K; also sets the initial velocities")
@click.option("--timestep", type=float, default=0.5, show_default=True, help="fs")
@click.option("--steps", type=int, default=1000, show_default=True, help="total steps (with --resume: up to this step)")
@click.option("--friction", type=float, default=0.01, show_default=True, help="Langevin friction (1/fs)")
@click.option("--tdamp", type=float, default=50.0, show_default=True, help="Nosé-Hoover thermostat time constant (fs)")
@click.option("--pdamp", type=float, default=500.0, show_default=True, help="MTK barostat time constant (fs)")
@click.option("--pressure", type=float, default=0.0, show_default=True, help="GPa, for npt")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--traj-every", type=int, default=10, show_default=True)
@click.option("--log-every", type=int, default=10, show_default=True)
@click.option("--max-displacement", type=float, default=0.5, show_default=True, help="stop if an atom moves more in one step (Å)")
@click.option("--output", default="md", show_default=True, help="prefix: PREFIX.extxyz (trajectory), PREFIX.csv (log), PREFIX.png")
@click.option("--resume", is_flag=True, help="continue from the last frame of PREFIX.extxyz (Nosé-Hoover/MTK chain states restart)")
@_fail_cleanly
def md(structure, model, index, device, dtype, threads, force, output, resume, **options) -> None:
    """Molecular dynamics of STRUCTURE: NVE, NVT (Langevin or Nosé-Hoover chain) or NPT (MTK)."""
    from .data import read_structure
    from .files import Outputs
    from .md import BlowUp, MDSettings, initial_velocities, plot_log, resume_state, run_md

    if resume and force:
        raise click.ClickException("--resume continues the files that --force would delete; give one of them")
    outputs = Outputs(output, [".extxyz", ".csv", ".png"], structure, replace=force, append=resume)
    trajectory, log, png = outputs.paths
    settings = MDSettings(**options)
    if resume:
        atoms, start = resume_state(trajectory)
        if start >= settings.steps:
            raise click.ClickException(f"{trajectory} already reached step {start}; give --steps larger than that")
        click.echo(f"resuming from step {start} of {trajectory}")
    else:
        atoms, start = read_structure(structure, index), 0
        settings.check(atoms)
        initial_velocities(atoms, settings.temperature, settings.seed)
    atoms.calc = _calculator(model, device, dtype, threads)
    click.echo(f"{settings.ensemble.upper()} MD of {atoms.get_chemical_formula()} ({len(atoms)} atoms): {settings.steps - start} steps "
               f"of {settings.timestep} fs at {settings.temperature} K")
    try:
        summary = run_md(atoms, settings, trajectory, log, start, echo=click.echo, before_writing=outputs.claim)
    except BlowUp as exc:
        plot_log(log, png)
        where = "no frame was written" if exc.last_written_step is None else f"the last good frame (step {exc.last_written_step}) is in {trajectory}"
        raise click.ClickException(f"simulation stopped: {exc}; {where}") from None
    plot_log(log, png)
    click.echo(f"done: {summary['steps_run']} steps in {summary['seconds']:.1f} s ({summary['ns_per_day']:.3g} ns/day), "
               f"mean T {summary['mean_temperature_K']:.1f} K; wrote {trajectory}, {log}, {png}")


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
@click.option("--max-minutes", type=float, help="wall-time budget; training stops after the epoch that exceeds it")
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
@click.option("--json", "json_file", type=click.Path(dir_okay=False), help="write the error tables as JSON {file: {group: metrics}}")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--force", is_flag=True, help="overwrite --output, --plot and --json files")
@_fail_cleanly
def evaluate(model, files, energy_key, forces_key, stress_key, output, plot, json_file, dtype, device, force) -> None:
    """Errors of MODEL on labelled FILES, per file and per config_type."""
    import json

    from ase.io import write

    from .calculator import GauntCalculator
    from .data import read_frames
    from .evaluation import error_table, parity_plot, predictions

    for target in (output, plot, json_file):
        if target and Path(target).exists() and not force:
            raise click.ClickException(f"{target} exists; use --force to overwrite it")
    calc = GauntCalculator(model, device=device, dtype=dtype)
    written, tables = [], {}
    for file in files:
        frames = read_frames(file, energy_key, forces_key, stress_key)
        preds = predictions(calc, frames)
        click.echo(f"{file}: {len(frames)} frames")
        tables[file] = error_table(frames, preds)
        for group, row in tables[file].items():
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
    if json_file:
        Path(json_file).write_text(json.dumps(tables, indent=2))


@main.group()
@click.option("--registry", type=click.Path(dir_okay=False), help="registry JSON file (default: $GAUNT_MD_REGISTRY, else models/registry.json of gaunt-md)")
@click.pass_context
def models(ctx: click.Context, registry: str | None) -> None:
    """Pretrained models: list, inspect, download and verify."""
    ctx.obj = registry


@models.command(name="list")
@click.pass_obj
@_fail_cleanly
def models_list(registry) -> None:
    """Table of the registry's models: size, test errors, whether the file is local."""
    from .hub import list_models, registry_path

    entries = list_models(registry)
    if not entries:
        click.echo(f"no models in {registry_path(registry)}")
        return
    metrics = (("energy_rmse_meV_per_atom", "E", "meV/atom"), ("forces_rmse_meV_per_A", "F", "meV/Å"))
    rows = [("name", "version", "elements", "MB", "test RMSE", "local")]
    for entry in entries:
        values = entry["metrics"]
        errors = ", ".join(f"{label} {values[key]:.3g} {unit}" for key, label, unit in metrics if isinstance(values.get(key), (int, float)))
        size = f"{entry['size'] / 1e6:.2f}"
        rows.append((entry["name"], entry["version"], " ".join(entry["elements"]), size, errors or "-", "yes" if entry["local"] else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@models.command(name="info")
@click.argument("name")
@click.pass_obj
@_fail_cleanly
def models_info(registry, name) -> None:
    """Registry entry of NAME (or NAME@VERSION) and its local file."""
    import json

    from .hub import model_info

    info = model_info(name, registry)
    for key, value in info.items():
        if key not in ("local", "path"):
            click.echo(f"{key}: {value if isinstance(value, str) else json.dumps(value)}")
    click.echo(f"local: {info['path'] or 'no'}")


@models.command(name="download")
@click.argument("name")
@click.pass_obj
@_fail_cleanly
def models_download(registry, name) -> None:
    """Fetch NAME (or NAME@VERSION) into the cache, checking its sha256."""
    from .hub import download, model_info

    was_local = model_info(name, registry)["local"]
    path = download(name, registry)
    click.echo(f"{name} is already local: {path}" if was_local else f"downloaded {name} to {path}")


@models.command(name="verify")
@click.pass_obj
@_fail_cleanly
def models_verify(registry) -> None:
    """Re-hash the local model files; exit 1 if any differs from the registry."""
    from .hub import verify

    results = verify(registry)
    for label, status in results:
        click.echo(f"{label}: {status}")
    if bad := [label for label, status in results if status == "mismatch"]:
        raise click.ClickException(f"sha256 mismatch for {', '.join(bad)}: delete or replace these files")


if __name__ == "__main__":
    main()
