"""The ``gaunt-md`` command line."""

from __future__ import annotations

import click

from . import __version__


@click.group()
@click.version_option(__version__, prog_name="gaunt-md")
def main() -> None:
    """gaunt-md: Gaunt tensor product interatomic potentials."""
