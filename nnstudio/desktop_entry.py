"""nnstudio in the desktop's applications menu: a freedesktop.org desktop entry and its icon.

pip, pipx and uv cannot install these (pipx #717), so ``nnstudio --install-desktop-entry`` (or the
About box) writes ``$XDG_DATA_HOME/applications/nnstudio.desktop``, whose Exec is the absolute path
of this install's ``nnstudio``, and the icon into the hicolor theme; ``--uninstall-desktop-entry``
removes them. Standard library only: the command line uses it before Qt is loaded.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from nnstudio import __version__
from nnstudio.core.atomic_file import atomic_write
from nnstudio.resources import resource_path

APP_ID = "nnstudio"  # the desktop file's name, the icon's name, Qt's desktopFileName and the window class
ICONS = {"scalable": "icon.svg", "256x256": "icon.png"}  # hicolor size folder -> the file in resources/


def data_home() -> Path:
    """``$XDG_DATA_HOME`` when it is an absolute path (the spec ignores a relative one), else ~/.local/share."""
    configured = os.environ.get("XDG_DATA_HOME", "")
    return Path(configured) if os.path.isabs(configured) else Path.home() / ".local" / "share"


@dataclass(frozen=True)
class Locations:
    """Where the entry and the icons go under one data folder (``~/.local/share`` by default)."""

    root: Path

    @property
    def entry(self) -> Path:
        return self.root / "applications" / f"{APP_ID}.desktop"

    def icon(self, size: str) -> Path:
        return self.root / "icons" / "hicolor" / size / "apps" / f"{APP_ID}{Path(ICONS[size]).suffix}"

    @property
    def files(self) -> list[Path]:
        return [self.entry, *(self.icon(size) for size in ICONS)]


def launch_command() -> list[str]:
    """The absolute command that starts this install of nnstudio."""
    if getattr(sys, "frozen", False):  # a standalone (PyInstaller) build
        return [str(Path(sys.executable).absolute())]
    beside = Path(sys.executable).absolute().parent / APP_ID  # a venv: pipx, uv tool, .venv
    if beside.is_file():
        return [str(beside)]
    recorded = _recorded_script()  # pip install --user and other schemes
    if recorded is not None:
        return [str(recorded)]
    scripts = Path(sysconfig.get_path("scripts")) / APP_ID
    if scripts.is_file():
        return [str(scripts)]
    return [str(Path(sys.executable).absolute()), "-m", "nnstudio"]


def _recorded_script() -> Path | None:
    from importlib import metadata

    try:
        files = metadata.distribution("nnstudio").files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == APP_ID and file.parent.name in ("bin", "Scripts"):
            path = Path(file.locate()).resolve()
            if path.is_file():
                return path
    return None


_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')  # characters that make an Exec argument need quotes


def exec_value(command: list[str]) -> str:
    """``command`` as a desktop entry's Exec value: arguments quoted where the spec asks, ``%``
    doubled, then escaped as a string value (a backslash written twice)."""
    parts = []
    for arg in command:
        arg = arg.replace("%", "%%")
        if any(c in _RESERVED for c in arg):
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        parts.append(arg)
    return " ".join(parts).replace("\\", "\\\\")


def entry_text(command: list[str]) -> str:
    """The desktop entry that starts ``command`` (spec 1.4: the newest Debian 12's validator knows)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=nnstudio",
        "GenericName=Neural Network Trainer",
        "Comment=Train a neural network written in NumPy on handwritten digits and watch it learn",
        f"Exec={exec_value(command)}",
        "TryExec=" + command[0].replace("\\", "\\\\"),
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=Education;Science;",
        "Keywords=neural network;machine learning;MNIST;deep learning;training;",
        "StartupNotify=true",
        f"StartupWMClass={APP_ID}",
        f"X-nnstudio-Version={__version__}",
    ]
    return "\n".join(lines) + "\n"


def install(root: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the icons and the entry; returns the files written. Raises OSError on failure, leaving
    none of them behind."""
    where = Locations(root or data_home())
    written: list[Path] = []
    try:
        for size, name in ICONS.items():
            source = resource_path(name)
            if not source.is_file():
                raise OSError(f"the icon {source} is missing from this install")
            target = where.icon(size)
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target) as f:
                f.write(source.read_bytes())
            written.append(target)
        where.entry.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(where.entry, "w", encoding="utf-8") as f:
            f.write(entry_text(command or launch_command()))
        written.append(where.entry)
    except OSError:
        for path in written:  # all or nothing: no icon without its entry
            path.unlink(missing_ok=True)
        raise
    return written


def uninstall(root: Path | None = None) -> list[Path]:
    """Remove the entry and the icons; returns the files that were there and are now gone."""
    removed = []
    for path in Locations(root or data_home()).files:
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


def is_installed(root: Path | None = None) -> bool:
    return Locations(root or data_home()).entry.is_file()


def main(install_entry: bool) -> int:
    """``nnstudio --install-desktop-entry`` / ``--uninstall-desktop-entry``: do it, say what was done."""
    try:
        if install_entry:
            written = install()
            print(f"nnstudio is in the applications menu now ({written[-1]}), starting {' '.join(launch_command())}")
            for path in written[:-1]:
                print(f"icon: {path}")
        else:
            removed = uninstall()
            print("removed " + ", ".join(map(str, removed)) if removed else "no nnstudio desktop entry was installed")
    except OSError as error:
        print(f"nnstudio: could not {'install' if install_entry else 'remove'} the desktop entry: {error}",
              file=sys.stderr)
        return 1
    return 0
