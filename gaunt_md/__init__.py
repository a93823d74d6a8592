"""gaunt-md: machine-learned interatomic potentials built on the Gaunt tensor product."""

__version__ = "0.1.0"
