"""Where the files shipped with nnstudio lie: the icon and the bundled model."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resource_path(name: str) -> Path:
    """The path of a file in the project's ``resources/`` folder."""
    return RESOURCES / name


BUNDLED_MODEL = resource_path("model.npz")
ICON = resource_path("icon.svg")
