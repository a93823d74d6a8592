"""``gaunt-md serve``: a force client that an i-PI server drives (path-integral MD, replicas)."""

from __future__ import annotations

import click

from ._common import THREADS_HELP, fail_cleanly


@click.command()
@click.argument("structure", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", required=True, help="pretrained model name or model file")
@click.option("--address", required=True, help="the server's socket: HOST:PORT (inet) or unix:NAME (/tmp/ipi_NAME)")
@click.option("--index", default="-1", show_default=True, help="frame of STRUCTURE to use (ase.io.read index)")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP)
@click.option("--wait", type=float, default=60.0, show_default=True, help="seconds to retry while the server starts")
@click.option("--timeout", type=float, help="seconds to wait for each request of a running server [default: no limit]")
@fail_cleanly
def serve(structure, model, address, index, device, dtype, threads, wait, timeout) -> None:
    """Serve energies and forces of MODEL to an i-PI server at ADDRESS until it exits.

    STRUCTURE gives the elements in the server's atom order (i-PI sends only positions and cell).
    Start one client per core or GPU: i-PI spreads the beads of a path integral over them.
    """
    from ..calculator import GauntCalculator
    from ..data import read_structure
    from ..serve import ServerLost, serve

    atoms = read_structure(structure, index)
    calc = GauntCalculator(model, device=device, dtype=dtype, threads=threads)
    click.echo(f"serving {model} for {len(atoms)} atoms ({atoms.get_chemical_formula()}) to {address}")
    try:
        calls = serve(atoms, calc, address, wait=wait, timeout=timeout)
    except (ServerLost, ConnectionError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"the server finished: {calls} force calls served")
