"""Files shipped inside the package: the bundled catalogue, the search vocabulary and the schema migrations.

They are read through `importlib.resources`, so they are found the same way in a checkout, in an editable
install and in a wheel installed with `pip` or `pipx` (which always unpacks packages onto the file system).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def packaged(*parts: str) -> Path:
    """The path of a file or folder under `bot/data`, as installed."""
    resource = files(__name__).joinpath(*parts)
    if not isinstance(resource, Path):  # a zip import: not a layout pip produces
        raise RuntimeError(f"bot.data is not on the file system ({resource!r}); install the package with pip")
    return resource


CATALOGUE = packaged("catalogue.toml")
VOCABULARY = packaged("vocabulary.toml")
MIGRATIONS = packaged("migrations")
