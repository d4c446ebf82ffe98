"""Driving the studio in tests as a user would, and waiting on its events (never on the clock)."""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import Qt


class RunEnd:
    """Filled in when the run has ended: ``args == [TrainingResult or None]``, like a signal blocker's."""

    args: list = []


@contextmanager
def run_ends(qtbot, window, timeout: int = 30_000):
    """Wait until the run started, continued or stopped in the block has wholly ended: its result shown,
    its folder saved and listed, the session idle again."""
    end = RunEnd()
    with qtbot.waitSignal(window.session.phase_changed, timeout=timeout,
                          check_params_cb=lambda phase: phase == "idle"):
        yield end
    end.args = [window.session.last_result]


def retype(qtbot, field, text: str) -> None:
    """Select all of a field's text and type ``text`` over it, then press Enter."""
    editor = field.lineEdit() if hasattr(field, "lineEdit") else field
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
