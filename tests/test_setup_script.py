"""scripts/setup (README's set-up and .ci/run): system packages through apt-get as root, through sudo
otherwise, a clear stop without either, and the dnf/pacman lines where there is no apt.

The system's tools are replaced by recording stand-ins on a PATH of their own, and the venv by a
stand-in, so these tests install nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup"
QT_PACKAGES = ["libglib2.0-0", "libegl1", "libgl1", "libfontconfig1", "libxkbcommon0", "libdbus-1-3"]

pytestmark = pytest.mark.skipif(sys.platform != "linux" or shutil.which("bash") is None, reason="a Linux shell script")


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{shutil.which('bash')}\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def system(tmp_path):
    """A PATH with only the tools the script needs, apt-get and dpkg-query stand-ins, and a venv stand-in."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("bash", "dirname", "grep", "sed"):
        (bin_ / tool).symlink_to(shutil.which(tool))
    log = tmp_path / "log"
    log.touch()
    stub(bin_, "uname", "echo Linux")
    stub(bin_, "id", 'echo "$FAKE_UID"')
    stub(bin_, "dpkg-query", '[ -n "$FAKE_INSTALLED" ] && echo "install ok installed"; exit 0')
    stub(bin_, "apt-get", f'echo "apt-get $*" >> {log}')
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    no_qt = '[ -n "$FAKE_NO_QT" ] && echo "ImportError: libGL.so.1: cannot open" >&2 && exit 1'
    stub(venv, "python", f'echo "python $*" >> {log}\ncase "$*" in *PySide6*) {no_qt};; esac\nexit 0')
    stub(venv, "nnstudio", 'echo "nnstudio 0.1.0"')

    def run(*args, uid=1000, sudo=False, apt=True, installed=False, qt=True):
        if sudo:
            stub(bin_, "sudo", f'echo "sudo $*" >> {log}; exec "$@"')
        if not apt:
            for name in ("apt-get", "dpkg-query"):
                (bin_ / name).unlink()
        env = {"PATH": str(bin_), "PYTHON": sys.executable, "FAKE_UID": str(uid), "HOME": str(tmp_path),
               "FAKE_INSTALLED": "1" if installed else "", "FAKE_NO_QT": "" if qt else "1"}
        result = subprocess.run([str(bin_ / "bash"), str(SETUP), "--venv", str(tmp_path / "venv"), *args],
                                capture_output=True, text=True, env=env, timeout=60)
        return result, log.read_text().splitlines()

    return run


def installs(calls: list[str], prefix: str) -> list[str]:
    return [call for call in calls if call.startswith(f"{prefix}apt-get install")]


def test_as_root_apt_get_installs_the_missing_libraries_without_sudo(system):
    result, calls = system("--test", uid=0)
    assert result.returncode == 0, result.stderr
    assert not any(call.startswith("sudo") for call in calls)
    [install] = installs(calls, "")
    assert all(f" {package}" in install for package in QT_PACKAGES + ["libxcb-cursor0"])
    assert "apt-get update -qq" in calls
    assert "python -m pip install -q --disable-pip-version-check -e .[test]" in calls


def test_a_user_with_sudo_installs_through_sudo(system):
    result, calls = system(sudo=True)
    assert result.returncode == 0, result.stderr
    assert "sudo will ask for your password" in result.stdout
    [install] = installs(calls, "sudo ")
    assert all(f" {package}" in install for package in QT_PACKAGES)
    assert "python -m pip install -q --disable-pip-version-check -e ." in calls


def test_a_user_without_sudo_is_told_what_to_install_and_nothing_runs(system):
    result, calls = system()
    assert result.returncode == 1
    assert "there is no sudo here" in result.stderr
    assert "apt-get update && apt-get install " in result.stderr
    assert all(package in result.stderr for package in QT_PACKAGES)
    assert calls == []


def test_present_libraries_are_not_installed_again(system):
    result, calls = system(installed=True)
    assert result.returncode == 0, result.stderr
    assert "Qt's system libraries are present" in result.stdout
    assert not installs(calls, "") and not installs(calls, "sudo ")


def test_without_apt_it_names_the_packages_and_the_readme_s_lines(system):
    result, calls = system(apt=False)
    assert result.returncode == 0, result.stderr
    lines = [line.split(": ", 2)[-1].strip() for line in result.stdout.splitlines()
             if "sudo dnf" in line or "sudo pacman" in line]
    assert len(lines) == 2 and lines[0].startswith("sudo dnf install ") and lines[1].startswith("sudo pacman -S ")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(line in readme for line in lines)


def test_without_apt_a_qt_that_cannot_load_stops_with_a_message(system):
    result, calls = system(apt=False, qt=False)
    assert result.returncode == 1
    assert "libGL.so.1" in result.stderr and "Install the packages named above" in result.stderr
