"""During a run the Evaluate views follow each epoch: the matrix, figures and gallery of the new best
weights, one robustness curve (in turn) and a PCA map; all four curves once the run ends."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

from driving import retype
from nnstudio.core.reports import EpochReport
from nnstudio.core.trainer import Trainer

LEFT = Qt.MouseButton.LeftButton


class HeldAfterEpoch1(Trainer):
    """A trainer that waits after its first epoch until released: the run stays "running" there."""

    release = threading.Event()

    def run(self, max_epochs=None):
        for event in super().run(max_epochs):
            yield event
            if isinstance(event, EpochReport) and event.epoch == 1:
                self.release.wait(60)


def test_every_view_follows_the_run_and_all_curves_come_at_its_end(qtbot, window, small_split):
    c = window.controls
    for box, value in ((c.max_epochs_box, 1), (c.patience_box, 0), (c.hidden_edit, "16")):
        retype(qtbot, box, str(value))
    HeldAfterEpoch1.release.clear()
    window.session.trainer_class = HeldAfterEpoch1
    panel = window.panel("Evaluate")
    bar = window.tabs.tabBar()
    try:
        with qtbot.waitSignal(window.session.epoch_finished, timeout=30_000):
            qtbot.mouseClick(window.train.start_button, LEFT)
        qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(1).center())
        # Held after epoch 1, still running: every view shows epoch 1's weights on the validation set.
        qtbot.waitUntil(lambda: panel.up_to_date and panel.robustness.notes() == {"noise": "epoch 1"}
                        and "(epoch 1)" in panel.layer_map.status.text(), timeout=30_000)
        assert window.session.phase == "running" and panel.which == "val"
        network = window.workspace.model
        expected = np.zeros((10, 10), int)
        np.add.at(expected, (small_split.y_val, network.predict(small_split.x_val)), 1)
        assert np.array_equal(panel.confusion.matrix(), expected)
        assert panel.layer_map.method == "PCA" and len(panel.layer_map.points()) == len(small_split.y_val)
        assert not panel.robustness.complete
        levels, accuracy = panel.robustness.curve("noise")
        assert accuracy[levels.index(0.0)] == np.mean(network.predict(small_split.x_val) == small_split.y_val)
    finally:
        HeldAfterEpoch1.release.set()
    # The run ends: the test set, all four curves for the best weights, their titles plain again.
    qtbot.waitUntil(lambda: window.session.phase == "idle" and panel.which == "test" and panel.up_to_date
                    and panel.robustness.complete, timeout=60_000)
    assert panel.robustness.notes() == {}
    assert all(panel.robustness.curve(name)[0] for name in ("noise", "rotation", "shift", "thickness"))


def test_a_run_started_on_the_tab_evaluates_its_own_weights_only(qtbot, window):
    """Starting a run switches Evaluate to the validation set with the run's first weights: the model
    from before the run is not evaluated on it again in the meantime (work during the first epoch)."""
    c = window.controls
    for box, value in ((c.max_epochs_box, 1), (c.patience_box, 0), (c.hidden_edit, "16")):
        retype(qtbot, box, str(value))
    panel = window.panel("Evaluate")  # built, still behind its tab
    bar = window.tabs.tabBar()
    with qtbot.waitSignal(panel.evaluated, timeout=20_000):
        qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(1).center())
    before = window.workspace.model
    results = []
    panel.job.returned.connect(results.append)
    with qtbot.waitSignal(window.session.epoch_finished, timeout=30_000):
        qtbot.mouseClick(window.train.start_button, LEFT)
    qtbot.waitUntil(lambda: window.session.phase == "idle" and panel.up_to_date, timeout=30_000)
    assert results and all(r.network is not before for r in results)
    assert results[-1].which == "test"
