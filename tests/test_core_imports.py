"""nnstudio.core is NumPy and the standard library only: it never imports Qt or pyqtgraph."""

import ast
import subprocess
import sys
from pathlib import Path

import nnstudio.core

CORE = Path(nnstudio.core.__file__).parent
ALLOWED_THIRD_PARTY = {"numpy", "nnstudio"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_modules_import_only_numpy_and_the_standard_library():
    offenders = {}
    for path in sorted(CORE.glob("*.py")):
        outside = {m for m in imported_modules(path) - ALLOWED_THIRD_PARTY if m not in sys.stdlib_module_names}
        if outside:
            offenders[path.name] = sorted(outside)
    assert offenders == {}
    assert len(list(CORE.glob("*.py"))) >= 8


def test_importing_all_of_core_loads_no_qt():
    modules = " ".join(f"nnstudio.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")
    code = (f"import importlib, sys\nfor m in '{modules}'.split(): importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'threadpoolctl')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
