"""``gaunt-md models``: list, inspect, download and verify the pretrained models."""

from __future__ import annotations

import click

from ._common import fail_cleanly


@click.group()
@click.option(
    "--registry",
    type=click.Path(dir_okay=False),
    help="registry JSON file (default: $GAUNT_MD_REGISTRY, else models/registry.json of gaunt-md)",
)
@click.pass_context
def models(ctx: click.Context, registry: str | None) -> None:
    """Pretrained models: list, inspect, download and verify."""
    ctx.obj = registry


@models.command(name="list")
@click.pass_obj
@fail_cleanly
def models_list(registry) -> None:
    """Table of the registry's models: size, test errors, whether the file is local."""
    from ..hub import list_models, registry_path

    entries = list_models(registry)
    if not entries:
        click.echo(f"no models in {registry_path(registry)}")
        return
    metrics = (("energy_rmse_meV_per_atom", "E", "meV/atom"), ("forces_rmse_meV_per_A", "F", "meV/Å"))
    rows = [("name", "version", "elements", "MB", "test RMSE", "local")]
    for entry in entries:
        values = entry["metrics"]
        errors = ", ".join(
            f"{label} {values[key]:.3g} {unit}"
            for key, label, unit in metrics
            if isinstance(values.get(key), (int, float))
        )
        size = f"{entry['size'] / 1e6:.2f}"
        rows.append(
            (
                entry["name"],
                entry["version"],
                " ".join(entry["elements"]),
                size,
                errors or "-",
                "yes" if entry["local"] else "no",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@models.command(name="info")
@click.argument("name")
@click.pass_obj
@fail_cleanly
def models_info(registry, name) -> None:
    """Registry entry of NAME (or NAME@VERSION) and its local file."""
    import json

    from ..hub import model_info

    info = model_info(name, registry)
    for key, value in info.items():
        if key not in ("local", "path"):
            click.echo(f"{key}: {value if isinstance(value, str) else json.dumps(value)}")
    click.echo(f"local: {info['path'] or 'no'}")


@models.command(name="download")
@click.argument("name")
@click.pass_obj
@fail_cleanly
def models_download(registry, name) -> None:
    """Fetch NAME (or NAME@VERSION) into the cache, checking its sha256."""
    from ..hub import download, model_info

    was_local = model_info(name, registry)["local"]
    path = download(name, registry)
    click.echo(f"{name} is already local: {path}" if was_local else f"downloaded {name} to {path}")


@models.command(name="verify")
@click.pass_obj
@fail_cleanly
def models_verify(registry) -> None:
    """Re-hash the local model files; exit 1 if any differs from the registry."""
    from ..hub import verify

    results = verify(registry)
    for label, status in results:
        click.echo(f"{label}: {status}")
    if bad := [label for label, status in results if status == "mismatch"]:
        raise click.ClickException(f"sha256 mismatch for {', '.join(bad)}: delete or replace these files")
