"""Issue 8, item 6: a run's network is built on the training thread, never the GUI thread, and a
network that cannot be built fails with a message and leaves the session ready for the next run."""

from __future__ import annotations

import threading

from nnstudio.core.config import TrainingConfig
from nnstudio.core.trainer import Trainer
from nnstudio.gui.run_session import RunSession
from nnstudio.gui.workspace import Workspace


class HeldBuild(Trainer):
    """Records the thread that builds its network, and holds the build until ``release`` is set."""

    release = threading.Event()
    built_on: list[int] = []

    def build(self) -> None:
        if self.network is None:  # run() calls build() again: only the first call draws
            self.release.wait(30)
            self.built_on.append(threading.get_ident())
        super().build()


class NoMemory(Trainer):
    def build(self) -> None:
        raise MemoryError("Unable to allocate 1.31 GiB for an array with shape (6000, 6000) and data type float32")


def session_for(tmp_path) -> RunSession:
    return RunSession(Workspace(tmp_path / "runs", load_bundled=False))


def test_networks_are_built_off_the_gui_thread_and_stop_works_while_building(
        qtbot, small_split, tmp_path, monkeypatch):
    monkeypatch.setattr(HeldBuild, "release", threading.Event())
    monkeypatch.setattr(HeldBuild, "built_on", [])
    session = session_for(tmp_path)
    session.trainer_class = HeldBuild
    saved = []
    session.saved.connect(saved.append)
    data = small_split.head(500, 200, 200)
    assert session.start(TrainingConfig(max_epochs=2, patience=0), data, "seed")
    # Start returned while the build is still held: the GUI thread drew nothing.
    assert session.trainer.network is None and session.phase == "running" and HeldBuild.built_on == []
    session.stop()  # Stop during the build ends the run before its first batch
    with qtbot.waitSignal(session.phase_changed, timeout=60_000, check_params_cb=lambda phase: phase == "idle"):
        HeldBuild.release.set()
    assert HeldBuild.built_on and HeldBuild.built_on[0] != threading.get_ident()
    assert session.last_result.epochs == 0 and saved == []  # nothing trained: nothing kept

    # The next run builds off the GUI thread too, and trains.
    with qtbot.waitSignal(session.phase_changed, timeout=60_000, check_params_cb=lambda phase: phase == "idle"):
        assert session.start(TrainingConfig(max_epochs=1, patience=0), data, "seed")
    assert threading.get_ident() not in HeldBuild.built_on and len(HeldBuild.built_on) == 2
    assert session.trainer.network.sizes == (784, 128, 64, 10) and len(saved) == 1


def test_a_network_too_large_for_memory_fails_with_a_message_and_the_session_stays_usable(
        qtbot, small_split, tmp_path):
    session = session_for(tmp_path)
    session.trainer_class = NoMemory
    failures = []
    session.failed.connect(failures.append)
    data = small_split.head(500, 200, 200)
    with qtbot.waitSignal(session.phase_changed, timeout=60_000, check_params_cb=lambda phase: phase == "idle"):
        assert session.start(TrainingConfig(max_epochs=1, patience=0), data, "seed")
    assert failures == ["Not enough memory: Unable to allocate 1.31 GiB for an array with shape (6000, 6000) "
                        "and data type float32"]
    assert session.trainer is None and not session.can_continue and not session.busy
    session.trainer_class = Trainer
    with qtbot.waitSignal(session.saved, timeout=60_000):
        assert session.start(TrainingConfig(max_epochs=1, patience=0), data, "seed")
