__version__ = "0.3.12"  # the one place the version is set; pyproject.toml reads it
