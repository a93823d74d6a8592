"""``gaunt-md relax`` and ``gaunt-md md``: a structure file, a model, and ASE's optimisers and integrators."""

from __future__ import annotations

import click

from ._common import THREADS_HELP, fail_cleanly


def _calculator(model: str, device: str, dtype: str, threads: int | None = None, compile: bool = False):
    from ..calculator import GauntCalculator

    return GauntCalculator(model, device=device, dtype=dtype, threads=threads, compile=compile)


class FloatOrAuto(click.ParamType):
    """A number, or the word auto."""

    name = "FLOAT|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "auto":
            return value
        try:
            return float(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number nor auto", param, ctx)


def _committee_threshold(calc) -> float:
    """The MD threshold (eV/Å) that a committee fit recorded (``--max-force-std auto``)."""
    if not calc.is_committee:
        raise click.ClickException(
            "--max-force-std needs a committee (gaunt-md fit --committee N): a single model has no spread"
        )
    if calc.model.max_force_std is None:
        raise click.ClickException(
            "this committee file records no threshold (it predates gaunt-md 0.3.1, or was not made by "
            "gaunt-md fit --committee); give --max-force-std a number in eV/Å"
        )
    click.echo(f"force std threshold: {calc.model.max_force_std:.4f} eV/Å (the committee's largest validation frame's)")
    return calc.model.max_force_std


def _structure_options(fn):
    for option in reversed(
        [
            click.argument("structure", type=click.Path(exists=True, dir_okay=False)),
            click.option("--model", required=True, help="pretrained model name or model file"),
            click.option(
                "--index", default="-1", show_default=True, help="frame of STRUCTURE to use (ase.io.read index)"
            ),
            click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda"),
            click.option(
                "--dtype",
                type=click.Choice(["float32", "float64"]),
                default="float64",
                show_default=True,
                help="float64 conserves energy best; float32 is faster",
            ),
            click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP),
            click.option(
                "--compile",
                "compile_",
                is_flag=True,
                help="compiled force calls with static shapes (several times faster for small molecules; "
                "about a minute of compilation first)",
            ),
            click.option(
                "--force", is_flag=True, help="replace existing output files (once the new run has checked its input)"
            ),
        ]
    ):
        fn = option(fn)
    return fn


@click.command()
@_structure_options
@click.option("--optimizer", type=click.Choice(["FIRE", "BFGS", "LBFGS"]), default="FIRE", show_default=True)
@click.option("--fmax", type=float, default=0.05, show_default=True, help="force convergence threshold (eV/Å)")
@click.option("--steps", type=int, default=1000, show_default=True, help="maximum optimiser steps")
@click.option("--cell", is_flag=True, help="relax the cell too (FrechetCellFilter)")
@click.option(
    "--cell-mode",
    type=click.Choice(["full", "hydrostatic", "constant-volume"]),
    default="full",
    show_default=True,
    help="hydrostatic keeps the cell shape, constant-volume the volume",
)
@click.option("--pressure", type=float, default=0.0, show_default=True, help="external pressure with --cell (GPa)")
@click.option("--symmetry", is_flag=True, help="keep the space group (ase FixSymmetry, needs spglib)")
@click.option(
    "--output",
    default="relax",
    show_default=True,
    help="prefix of the outputs: PREFIX.extxyz (trajectory) and PREFIX_final.extxyz",
)
@fail_cleanly
def relax(
    structure,
    model,
    index,
    device,
    dtype,
    threads,
    compile_,
    force,
    optimizer,
    fmax,
    steps,
    cell,
    cell_mode,
    pressure,
    symmetry,
    output,
) -> None:
    """Relax the atoms (and with --cell the cell) of STRUCTURE."""
    from ase.io import write

    from ..data import read_structure, snapshot
    from ..files import Outputs
    from ..relax import relax as run_relax

    outputs = Outputs(output, [".extxyz", "_final.extxyz"], structure, replace=force)
    trajectory, final = outputs.paths
    atoms = read_structure(structure, index)
    atoms.calc = _calculator(model, device, dtype, threads, compile_)
    click.echo(
        f"relaxing {atoms.get_chemical_formula()} ({len(atoms)} atoms) from {structure} with {optimizer}, fmax {fmax} eV/Å"
    )
    result = run_relax(
        atoms, optimizer, fmax, steps, cell, cell_mode, pressure, symmetry, trajectory, before_writing=outputs.claim
    )
    write(final, snapshot(atoms), format="extxyz")
    click.echo(result.summary())
    click.echo(f"wrote {trajectory} and {final}")
    if not result.converged:
        raise click.ClickException(
            f"not converged: max force {result.max_force:.4f} eV/Å after {result.steps} steps (fmax {fmax}); "
            "raise --steps or try another --optimizer"
        )


@click.command()
@_structure_options
@click.option("--ensemble", type=click.Choice(["nve", "nvt", "npt"]), default="nvt", show_default=True)
@click.option(
    "--thermostat",
    type=click.Choice(["langevin", "nose-hoover"]),
    default="langevin",
    show_default=True,
    help="for nvt",
)
@click.option(
    "--barostat",
    type=click.Choice(["isotropic", "anisotropic"]),
    default="isotropic",
    show_default=True,
    help="for npt: ASE's MTK (Nosé-Hoover chain) barostat",
)
@click.option("--temperature", type=float, default=300.0, show_default=True, help="K; also sets the initial velocities")
@click.option("--timestep", type=float, default=0.5, show_default=True, help="fs")
@click.option("--steps", type=int, default=1000, show_default=True, help="total steps (with --resume: up to this step)")
@click.option("--friction", type=float, default=0.01, show_default=True, help="Langevin friction (1/fs)")
@click.option("--tdamp", type=float, default=50.0, show_default=True, help="Nosé-Hoover thermostat time constant (fs)")
@click.option("--pdamp", type=float, default=500.0, show_default=True, help="MTK barostat time constant (fs)")
@click.option("--pressure", type=float, default=0.0, show_default=True, help="GPa, for npt")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="seed of the initial velocities and the Langevin noise"
)
@click.option("--traj-every", type=int, default=10, show_default=True, help="write a trajectory frame every N steps")
@click.option("--log-every", type=int, default=10, show_default=True, help="write a log row every N steps")
@click.option(
    "--max-displacement", type=float, default=0.5, show_default=True, help="stop if an atom moves more in one step (Å)"
)
@click.option(
    "--max-force-std",
    type=FloatOrAuto(),
    help="committee models: write frames whose largest per-atom force std exceeds this (eV/Å) to "
    "PREFIX_uncertain.extxyz; auto: the committee's own threshold (its largest validation frame's std)",
)
@click.option("--stop-on-uncertain", is_flag=True, help="with --max-force-std: stop at the first such frame")
@click.option(
    "--output", default="md", show_default=True, help="prefix: PREFIX.extxyz (trajectory), PREFIX.csv (log), PREFIX.png"
)
@click.option(
    "--resume",
    is_flag=True,
    help="continue from the last frame of PREFIX.extxyz (Nosé-Hoover/MTK chain states restart)",
)
@fail_cleanly
def md(structure, model, index, device, dtype, threads, compile_, force, output, resume, **options) -> None:
    """Molecular dynamics of STRUCTURE: NVE, NVT (Langevin or Nosé-Hoover chain) or NPT (MTK)."""
    from ..data import read_structure
    from ..files import Outputs
    from ..gate import Uncertain
    from ..md import BlowUp, MDSettings, initial_velocities, resume_state, run_md
    from ..plots import md_log_plot as plot_log

    if resume and force:
        raise click.ClickException("--resume continues the files that --force would delete; give one of them")
    if options["stop_on_uncertain"] and options["max_force_std"] is None:
        raise click.ClickException("--stop-on-uncertain needs --max-force-std")
    gated = [] if options["max_force_std"] is None else ["_uncertain.extxyz"]
    outputs = Outputs(output, [".extxyz", ".csv", ".png", *gated], structure, replace=force, append=resume)
    trajectory, log, png = outputs.paths[:3]
    uncertain = outputs.paths[3] if gated else None
    calc = _calculator(model, device, dtype, threads, compile_)
    if options["max_force_std"] == "auto":
        options["max_force_std"] = _committee_threshold(calc)
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
    atoms.calc = calc
    click.echo(
        f"{settings.ensemble.upper()} MD of {atoms.get_chemical_formula()} ({len(atoms)} atoms): {settings.steps - start} steps "
        f"of {settings.timestep} fs at {settings.temperature} K"
    )
    try:
        summary = run_md(
            atoms, settings, trajectory, log, start, echo=click.echo, before_writing=outputs.claim, uncertain=uncertain
        )
    except (BlowUp, Uncertain) as exc:
        plot_log(log, png)
        where = (
            "no frame was written"
            if exc.last_written_step is None
            else f"the last good frame (step {exc.last_written_step}) is in {trajectory}"
        )
        if isinstance(exc, Uncertain):
            where = f"the frame is in {uncertain} for labelling; {where}"
        raise click.ClickException(f"simulation stopped: {exc}; {where}") from None
    plot_log(log, png)
    click.echo(
        f"done: {summary['steps_run']} steps in {summary['seconds']:.1f} s ({summary['ns_per_day']:.3g} ns/day), "
        f"mean T {summary['mean_temperature_K']:.1f} K; wrote {trajectory}, {log}, {png}"
    )
    if uncertain is not None:
        click.echo(
            f"{summary['uncertain_frames']} frame(s) above {settings.max_force_std} eV/Å force std in {uncertain}"
        )
