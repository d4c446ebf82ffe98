"""Where the files shipped with nnstudio lie: the icon and the bundled model."""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE_RESOURCES = Path(__file__).resolve().parent.parent / "resources"  # a checkout, an editable install
INSTALLED_RESOURCES = Path(sys.prefix) / "share" / "nnstudio"  # a wheel's data files
RESOURCES = SOURCE_RESOURCES if SOURCE_RESOURCES.is_dir() else INSTALLED_RESOURCES


def resource_path(name: str) -> Path:
    """The path of a file in the project's ``resources/`` folder."""
    return RESOURCES / name


BUNDLED_MODEL = resource_path("model.npz")
ICON = resource_path("icon.svg")
