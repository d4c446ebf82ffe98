"""GUI test fixtures: small real MNIST subsets, windows on temporary folders, and a thread check."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from nnstudio.core.dataset import split_mnist
from nnstudio.gui.gui_gc import GuiThreadCollector
from nnstudio.gui.worker import running_threads


@pytest.fixture(autouse=True)
def gc_on_the_gui_thread(qapp):
    """As the app does: cyclic garbage (the windows of earlier tests) is collected on the GUI thread
    only while a test runs. Left to Python's automatic collector, it could be freed on a worker thread
    that happened to allocate, and a Qt object destroyed there deadlocks against the GUI thread (seen
    once in CI). Between tests (no worker thread is left then) collection is automatic again."""
    collector = GuiThreadCollector(parent=qapp)
    yield collector
    collector.stop(collect=False)
    collector.deleteLater()


@pytest.fixture(autouse=True)
def no_thread_left_running(qtbot, gc_on_the_gui_thread):
    """Fail any test that leaves a worker thread running (after a short grace period)."""
    yield
    try:
        qtbot.waitUntil(lambda: not running_threads(), timeout=3000)
    except AssertionError:
        names = [t.objectName() for t in running_threads()]
        pytest.fail(f"test left worker threads running: {names}")


@pytest.fixture(scope="session")
def small_split(mnist):
    """2000 training, 500 validation and 500 test images of real MNIST."""
    return split_mnist(mnist).head(2000, 500, 500)


@pytest.fixture
def settings(tmp_path):
    from nnstudio.gui.settings import Settings

    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def make_window(qtbot, settings, tmp_path):
    """Build a shown MainWindow on temporary folders; closed (stopping any run) after the test."""
    from nnstudio.gui.main_window import MainWindow

    def make(split=None, data_dir=None, settings_=None, runs_root=None):
        window = MainWindow(settings_ or settings, runs_root or tmp_path / "runs", data_dir=data_dir, split=split)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.fixture
def window(make_window, small_split):
    return make_window(split=small_split)
