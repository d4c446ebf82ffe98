"""Driving the studio in tests as a user would, and waiting on its events (never on the clock)."""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QPoint, Qt


class RunEnd:
    """Filled in when the run has ended: ``args == [TrainingResult or None]``, like a signal blocker's."""

    args: list = []


@contextmanager
def run_ends(qtbot, window, timeout: int = 60_000):
    """Wait until the run started, continued or stopped in the block has wholly ended: its result shown,
    its folder saved and listed, the session idle again. (The timeout only bounds a hang: a busy machine
    may take long, and a passing test never waits for it.)"""
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


def draw(qtbot, pad, points) -> None:
    """Press, drag through ``points`` (fractions of the pad's canvas) and release, as a mouse would."""
    rect = pad.canvas_rect()
    pixels = [QPoint(round(rect.x() + x * rect.width()), round(rect.y() + y * rect.height())) for x, y in points]
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=pixels[0])
    for p in pixels[1:]:
        qtbot.mouseMove(pad, p)
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=pixels[-1])


def open_tab(qtbot, window, title: str):
    """Click the tab titled ``title`` as a user would; returns its panel once it is shown."""
    bar = window.tabs.tabBar()
    index = [window.tabs.tabText(i) for i in range(window.tabs.count())].index(title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    panel = window.panel(title)
    qtbot.waitUntil(panel.isVisible)
    return panel
