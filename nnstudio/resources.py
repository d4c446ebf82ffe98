"""Where the files shipped with nnstudio lie: the icon and the bundled model."""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE_RESOURCES = Path(__file__).resolve().parent.parent / "resources"  # a checkout, an editable install
INSTALLED_RESOURCES = Path(sys.prefix) / "share" / "nnstudio"  # a wheel's data files


def _installed_resources() -> Path:
    """Where a wheel's data files went: <prefix>/share/nnstudio for a venv (pipx, uv tool) or a
    standalone build; elsewhere (pip install --user, --prefix, --target) the install's own record says."""
    if INSTALLED_RESOURCES.is_dir():
        return INSTALLED_RESOURCES
    from importlib import metadata

    try:
        for file in metadata.distribution("nnstudio").files or []:
            if file.name == "model.npz" and file.parent.name == "nnstudio" and file.parent.parent.name == "share":
                return Path(file.locate()).resolve().parent
    except metadata.PackageNotFoundError:
        pass
    return INSTALLED_RESOURCES


RESOURCES = SOURCE_RESOURCES if SOURCE_RESOURCES.is_dir() else _installed_resources()


def resource_path(name: str) -> Path:
    """The path of a file in the project's ``resources/`` folder."""
    return RESOURCES / name


BUNDLED_MODEL = resource_path("model.npz")
ICON = resource_path("icon.svg")
