"""The diagnostics plots with "every N batches": the extra points, and the control that sets N."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.reports import BatchProgress, EpochReport
from nnstudio.core.trainer import Trainer
from nnstudio.gui.panels.diagnostics_plots import DiagnosticsPlots
from driving import retype


def tiny(split, n=600) -> Split:
    return Split(split.x_train[:n], split.y_train[:n], split.x_val[:200], split.y_val[:200],
                 split.x_test[:0], split.y_test[:0])


class Session(QObject):
    """What the plots listen to of a RunSession, and the trainer it holds."""

    started = Signal(object)
    epoch_finished = Signal(object)
    progressed = Signal(object)
    launching = Signal()

    def __init__(self, trainer=None) -> None:
        super().__init__()
        self.trainer = trainer


def test_the_every_n_batch_points_are_drawn_between_the_epoch_points(qtbot, small_split):
    config = TrainingConfig(hidden=(16, 8), batch_size=20, max_epochs=2, patience=0, diagnostics_every=10)
    events = list(Trainer(config, tiny(small_split)).run())
    session = Session()
    plots = DiagnosticsPlots(session)
    qtbot.addWidget(plots)
    plots.show()
    points = []
    for event in events:
        if isinstance(event, BatchProgress):
            points.extend(event.diagnostics)
            session.progressed.emit((event,))
            if event.epoch == 1 and points and not plots.records:  # before the first epoch's end: alone
                qtbot.waitUntil(lambda: "Epoch 1, batch" in plots.caption.plain_text())
                assert len(plots.ratio_plot.series) == 3  # a thin line per layer
        elif isinstance(event, EpochReport):
            session.epoch_finished.emit(event)
    assert [p.batch for p in points] == [10, 20, 30] * 2
    np.testing.assert_allclose(plots.batch_positions(), [1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2])
    np.testing.assert_array_equal(plots.batch_update_ratios(), [p.update_ratios for p in points])
    # Drawn: per layer a thin line through the batch points, then the epoch points with markers.
    qtbot.waitUntil(lambda: len(plots.ratio_plot.series) == 6 and "Epoch" in plots.caption.plain_text()
                    and "batch" not in plots.caption.plain_text())
    thin, marked = plots.ratio_plot.series[:3], plots.ratio_plot.series[3:]
    for i, line in enumerate(thin):
        assert not line.markers
        np.testing.assert_allclose(line.x, plots.batch_positions())
        np.testing.assert_allclose(line.y, plots.batch_update_ratios()[:, i])
    assert all(s.markers for s in marked) and len(plots.gradient_plot.series) == 6  # plain SGD: gradients too
    session.started.emit(None)  # a new run clears them
    assert plots.batch_positions().size == 0 and plots.batch_update_ratios().shape == (0, 3)
    # N = 0: the epoch points alone, as before.
    session.epoch_finished.emit(next(e for e in events if isinstance(e, EpochReport)))
    qtbot.waitUntil(lambda: len(plots.ratio_plot.series) == 3)
    assert all(s.markers for s in plots.ratio_plot.series)


def test_the_control_sets_n_for_the_next_run_and_live(qtbot, small_split):
    config = TrainingConfig(hidden=(16,), batch_size=20, max_epochs=1, patience=0)
    session = Session(Trainer(config, tiny(small_split)))
    plots = DiagnosticsPlots(session)
    qtbot.addWidget(plots)
    plots.show()
    box = plots.findChild(QObject, "diagnosticsEvery")
    assert box.accessibleName() == "Diagnostics every N batches" and box.value() == 0
    assert box.text() == "per epoch only"
    retype(qtbot, box, "15")
    assert box.value() == 15 and session.trainer.step_meter.every == 15  # the run held: live
    session.trainer = Trainer(config, tiny(small_split))  # a new run, made from the form's config
    assert session.trainer.step_meter.every == 0
    session.launching.emit()
    assert session.trainer.step_meter.every == 15
    points = [d for e in session.trainer.run() if isinstance(e, BatchProgress) for d in e.diagnostics]
    assert [p.batch for p in points] == [15, 30]
    retype(qtbot, box, "0")
    assert session.trainer.step_meter.every == 0
