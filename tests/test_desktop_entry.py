"""The desktop entry: written where the freedesktop.org specs say, valid, starting this install, removable."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nnstudio import __version__, desktop_entry
from nnstudio.desktop_entry import Locations, entry_text, exec_value, launch_command
from nnstudio.resources import resource_path

VALIDATOR = shutil.which("desktop-file-validate")


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


def validate(path: Path) -> None:
    if VALIDATOR is None:
        return
    result = subprocess.run([VALIDATOR, str(path)], capture_output=True, text=True)
    errors = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 0 and not errors, result.stdout + result.stderr


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def test_install_writes_a_valid_entry_and_the_icons_and_uninstall_removes_them(data_home):
    written = desktop_entry.install()
    where = Locations(data_home)
    assert sorted(written) == sorted(where.files)
    assert where.entry == data_home / "applications" / "nnstudio.desktop"
    assert where.icon("scalable").read_bytes() == resource_path("icon.svg").read_bytes()
    assert where.icon("256x256") == data_home / "icons" / "hicolor" / "256x256" / "apps" / "nnstudio.png"
    assert where.icon("256x256").read_bytes() == resource_path("icon.png").read_bytes()

    entry = read_entry(where.entry)
    assert entry["Type"] == "Application" and entry["Name"] == "nnstudio"
    assert entry["GenericName"] and entry["Comment"]
    assert entry["Categories"] == "Education;Science;"
    assert entry["Icon"] == "nnstudio" and entry["StartupWMClass"] == "nnstudio"
    assert entry["X-nnstudio-Version"] == __version__
    program = Path(entry["Exec"])
    assert program.is_absolute() and program.is_file() and os.access(program, os.X_OK)
    assert program == Path(launch_command()[0])
    validate(where.entry)
    assert desktop_entry.is_installed()

    assert sorted(desktop_entry.uninstall()) == sorted(where.files)
    assert not any(path.exists() for path in where.files)
    assert not desktop_entry.is_installed()
    assert desktop_entry.uninstall() == []


def test_exec_is_this_install_s_nnstudio_which_starts():
    command = launch_command()
    assert command == [str(Path(sys.executable).absolute().parent / "nnstudio")]
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"nnstudio {__version__}"


@pytest.mark.parametrize("path, expected", [
    ("/opt/nnstudio/bin/nnstudio", "/opt/nnstudio/bin/nnstudio"),
    ("/home/ann/my apps/bin/nnstudio", '"/home/ann/my apps/bin/nnstudio"'),
    ("/home/ann/100%/nnstudio", "/home/ann/100%%/nnstudio"),
    ('/home/a"b/$x`y\\z/nnstudio', '"/home/a\\\\"b/\\\\$x\\\\`y\\\\\\\\z/nnstudio"'),
])
def test_exec_quotes_paths_as_the_spec_asks(path, expected, tmp_path):
    assert exec_value([path]) == expected
    entry = tmp_path / "nnstudio.desktop"
    entry.write_text(entry_text([path]), encoding="utf-8")
    assert read_entry(entry)["Exec"] == expected
    validate(entry)


def test_a_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert desktop_entry.data_home() == tmp_path / ".local" / "share"


def test_a_folder_that_cannot_be_written_gets_a_message_and_no_partial_file(data_home, capsys):
    data_home.mkdir()
    (data_home / "applications").write_text("a file where a folder should be")
    assert desktop_entry.main(install_entry=True) == 1
    assert "could not install the desktop entry" in capsys.readouterr().err
    assert not [path for path in (data_home / "icons").rglob("*") if path.is_file()]


def test_command_line_installs_and_removes_without_opening_a_window(data_home, tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(data_home), QT_QPA_PLATFORM="does-not-exist")
    for flag, word in (("--install-desktop-entry", "applications menu"), ("--uninstall-desktop-entry", "removed")):
        # With a Qt platform that does not exist, creating a QApplication would abort: none is made.
        result = subprocess.run([sys.executable, "-m", "nnstudio", flag], capture_output=True, text=True,
                                env=env, timeout=60)
        assert result.returncode == 0 and word in result.stdout, result.stdout + result.stderr
        assert Locations(data_home).entry.exists() == (flag == "--install-desktop-entry")


def test_both_commands_print_their_version(capsys):
    from nnstudio.cli.train import main as train_main
    from nnstudio.gui.app import parse_args

    for run in (lambda: parse_args(["--version"]), lambda: train_main(["--version"])):
        with pytest.raises(SystemExit) as exit_:
            run()
        assert exit_.value.code == 0
        assert capsys.readouterr().out.strip() == f"nnstudio {__version__}"
