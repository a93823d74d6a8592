__version__ = "0.3.13"  # the one place the version is set; pyproject.toml reads it
