"""``gaunt-md export``: a model's force call compiled ahead of time for one system (a ``.pt2`` file)."""

from __future__ import annotations

import time

import click

from ._common import THREADS_HELP, fail_cleanly


@click.command()
@click.argument("structure", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", required=True, help="pretrained model name or model file")
@click.option("--index", default="-1", show_default=True, help="frame of STRUCTURE to use (ase.io.read index)")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda (the file runs there only)")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP)
@click.option("--force", is_flag=True, help="replace an existing PREFIX.pt2")
@click.option("--output", default="model", show_default=True, help="prefix of the output: PREFIX.pt2")
@fail_cleanly
def export(structure, model, index, device, dtype, threads, force, output) -> None:
    """Compile MODEL's force call (energy, forces, and stress for periodic cells) ahead of time
    (torch.export and AOTInductor) for systems like STRUCTURE: the same number of atoms, and up to
    25% more edges and neighbours per atom (an MD run of that system). The file runs with no model
    code: `gaunt-md md ... --model PREFIX.pt2` or GauntCalculator("PREFIX.pt2")."""
    from ..calculator import load_model
    from ..committee import Committee
    from ..data import read_structure, structure_graph
    from ..exported import export as export_force_call
    from ..files import Outputs
    from ..runtime import resolve_device, resolve_dtype, set_threads

    outputs = Outputs(output, [".pt2"], structure, replace=force)
    set_threads(threads)
    atoms = read_structure(structure, index)
    loaded = load_model(model)
    if isinstance(loaded, Committee):
        raise ValueError(f"{model} is a committee; export takes one model")
    where, precision = resolve_device(device), resolve_dtype(dtype)
    inference = loaded.for_inference().to(device=where, dtype=precision).eval()
    graph = structure_graph(atoms, inference.config.r_max, inference.species_of, precision, where)
    click.echo(
        f"exporting {model} for {atoms.get_chemical_formula()} ({len(atoms)} atoms): compiling takes a minute or more"
    )
    outputs.claim()
    start = time.perf_counter()
    meta = export_force_call(inference, graph, outputs.paths[0], bool(atoms.pbc.all()), source=str(model))
    click.echo(
        f"wrote {outputs.paths[0]} in {time.perf_counter() - start:.0f} s: {meta['atoms']} atoms, up to {meta['edges']} "
        f"edges and {meta['width']} neighbours per atom, {meta['dtype']} on {meta['device']}"
    )
