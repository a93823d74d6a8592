__version__ = "0.3.15"  # the one place the version is set; pyproject.toml reads it
