"""The live training plots, fed with the events of real (tiny) training runs on MNIST."""

from __future__ import annotations

import numpy as np
import pytest
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import split_mnist
from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.core.trainer import Trainer
from nnstudio.gui.colors import RUN_COLORS, run_color
from nnstudio.gui.plot_style import GrowingArray, describe_change, smoothed
from nnstudio.gui.training_plots import TrainingPlots
from pixels import count_colour, rgb


def train(split, *, learning_rate_after_epoch_2=None, progress_interval=0.002, **config):
    """Every event of a real run, with an optional live learning-rate change after epoch 2."""
    trainer = Trainer(TrainingConfig(**config), split, progress_interval=progress_interval)
    events = []
    for event in trainer.run():
        events.append(event)
        if isinstance(event, EpochReport) and event.epoch == 2 and learning_rate_after_epoch_2:
            trainer.set_learning_rate(learning_rate_after_epoch_2)
    return events


@pytest.fixture(scope="module")
def plots_split(mnist):
    return split_mnist(mnist).head(3000, 500, 500)


@pytest.fixture(scope="module")
def run_events(plots_split):
    """A run that improves, stalls and stops early, with one live change of the learning rate."""
    return train(plots_split, max_epochs=12, patience=2, learning_rate_after_epoch_2=0.05)


@pytest.fixture(scope="module")
def other_histories(plots_split):
    runs = [train(plots_split, max_epochs=4, patience=0, learning_rate=lr, seed=seed)
            for lr, seed in ((0.05, 1), (0.3, 2))]
    return [[e for e in events if isinstance(e, EpochReport)] for events in runs]


def reports_of(events):
    return [e for e in events if isinstance(e, EpochReport)]


def feed(plots, events, after_epoch=None):
    """Deliver events as the dashboard does; ``after_epoch(report)`` runs after each epoch."""
    for event in events:
        if isinstance(event, BatchProgress):
            plots.add_batches(event)
        elif isinstance(event, SettingChanged):
            plots.mark_change(event)
        elif isinstance(event, EpochReport):
            plots.add_epoch(event)
            if after_epoch:
                after_epoch(event)
        elif isinstance(event, TrainingResult):
            plots.show_result(event)


@pytest.fixture
def plots(qtbot):
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.start_run("run 1", 12, 2)
    return widget


def test_each_epoch_curve_has_one_point_per_epoch_with_the_reported_values(plots, run_events):
    reports = reports_of(run_events)
    feed(plots, run_events)
    epochs = [r.epoch for r in reports]
    expected = {
        plots.train_acc_curve: [100 * r.train_accuracy for r in reports],
        plots.val_acc_curve: [100 * r.val_accuracy for r in reports],
        plots.train_loss_curve: [r.train_loss for r in reports],
        plots.val_loss_curve: [r.val_loss for r in reports],
    }
    for curve, values in expected.items():
        x, y = curve.getData()
        np.testing.assert_array_equal(x, epochs)
        np.testing.assert_allclose(y, values)


def test_best_marker_sits_on_the_best_epoch_after_every_epoch(plots, run_events):
    seen = []

    def check(report):
        assert plots.best_marker.isVisible()
        assert plots.best_marker.value() == report.best_epoch
        x, y = plots.best_loss_point.getData()
        assert (x[0], y[0]) == (report.best_epoch, pytest.approx(report.best_val_loss))
        x, y = plots.best_accuracy_point.getData()
        assert (x[0], y[0]) == (report.best_epoch, pytest.approx(100 * report.best_val_accuracy))
        seen.append(report.best_epoch)

    feed(plots, run_events, after_epoch=check)
    assert len(set(seen)) > 1, "the marker should have moved during the run"
    assert seen[-1] < len(seen), "the run should end some epochs after its best"


def test_patience_window_shrinks_without_improvement(plots, run_events):
    windows = []

    def check(report):
        if report.patience_left:
            assert plots.patience_region.isVisible()
            start, end = plots.patience_region.getRegion()
            assert (start, end) == (report.epoch, report.best_epoch + 2)
            windows.append(end - start)
        else:
            assert not plots.patience_region.isVisible()

    feed(plots, run_events, after_epoch=check)
    assert 2 in windows and 1 in windows, f"the window should shrink from 2 to 1 epochs, saw {windows}"


def test_live_patience_change_recomputes_the_window_and_zero_hides_it(plots, run_events):
    reports = reports_of(run_events)
    feed(plots, run_events[:run_events.index(reports[2]) + 1])
    last = reports[2]
    plots.set_patience(5)
    assert plots.patience_region.isVisible()
    assert plots.patience_region.getRegion() == (last.epoch, last.best_epoch + 5)
    plots.set_patience(0)
    assert not plots.patience_region.isVisible()


def test_patience_window_is_hidden_when_early_stopping_is_off(plots, plots_split):
    events = train(plots_split.head(1000, 200, 200), max_epochs=2, patience=0)
    assert all(r.patience_left is None for r in reports_of(events))
    plots.start_run("no patience", 2, 0)
    feed(plots, events)
    assert not plots.patience_region.isVisible()
    assert len(plots.val_loss_curve.getData()[0]) == 2


def test_batch_trace_holds_every_batch_loss_at_its_position_and_the_ema_smooths_it(plots, run_events):
    feed(plots, run_events)
    progress = [e for e in run_events if isinstance(e, BatchProgress)]
    assert len(progress) > len(reports_of(run_events)), "the run should report several times per epoch"
    losses = np.concatenate([p.losses for p in progress])
    positions = np.concatenate([p.epoch - 1 + (p.first_batch + np.arange(len(p.losses))) / p.batches
                                for p in progress])
    x, raw, ema = plots.batch_trace()
    np.testing.assert_allclose(raw, losses)
    np.testing.assert_allclose(x, positions)
    assert len(ema) == len(raw)
    shown_x, shown_y = plots.batch_curve.getOriginalDataset()
    np.testing.assert_allclose(shown_y, losses)
    assert len(plots.ema_curve.getOriginalDataset()[1]) == len(losses)
    # Extended piece by piece, the EMA equals one computed over the whole trace at once.
    alpha = plots.smoothing
    reference, s = [], losses[0]
    for value in losses:
        s = alpha * s + (1 - alpha) * value
        reference.append(s)
    np.testing.assert_allclose(ema, reference)
    later = slice(len(losses) // 4, None)  # past the steep start
    assert np.var(np.diff(ema[later])) < 0.1 * np.var(np.diff(raw[later]))


def test_smoothing_controls_recompute_the_ema(plots, run_events, qtbot):
    feed(plots, run_events)
    _, raw, _ = plots.batch_trace()
    plots.set_smoothing(0.0)
    np.testing.assert_allclose(plots.batch_trace()[2], raw)
    assert plots.smoothing_slider.value() == 0
    with qtbot.waitSignal(plots.smoothing_changed) as changed:
        plots.smoothing_box.setValue(0.99)
    assert changed.args == [pytest.approx(0.99)]
    assert plots.smoothing_slider.value() == 990
    np.testing.assert_allclose(plots.batch_trace()[2], smoothed(raw, 0.99))
    plots.smoothing_slider.setValue(500)
    assert plots.smoothing == 0.5
    with pytest.raises(ValueError, match="smoothing must be from 0 to 0.999"):
        plots.set_smoothing(1.0)


def test_log_loss_checkbox_switches_both_loss_plots_to_log_scale(plots, run_events, qtbot):
    feed(plots, run_events)
    plots.show()
    qtbot.waitExposed(plots)
    val_loss = [r.val_loss for r in reports_of(run_events)]
    qtbot.mouseClick(plots.log_loss_box, Qt.LeftButton)
    assert plots.log_loss and plots.log_loss_box.isChecked()
    assert plots.loss_plot.ctrl.logYCheck.isChecked() and plots.batch_plot.ctrl.logYCheck.isChecked()
    np.testing.assert_allclose(plots.val_loss_curve.getData()[1], np.log10(val_loss))
    plots.set_log_loss(False)
    assert not plots.log_loss_box.isChecked()
    np.testing.assert_allclose(plots.val_loss_curve.getData()[1], val_loss)


def test_a_live_setting_change_is_marked_on_every_plot(plots, run_events):
    feed(plots, run_events)
    changes = [e for e in run_events if isinstance(e, SettingChanged)]
    assert len(changes) == 1 and changes[0].name == "learning_rate"
    change = changes[0]
    assert change.position == 2.0
    assert plots.change_positions() == [change.position]
    for plot in plots.plots:
        lines = [item for item in plot.items if isinstance(item, pg.InfiniteLine) and item.isVisible()
                 and item.value() == change.position]
        assert len(lines) == 1
    line, = [item for item in plots.accuracy_plot.items if isinstance(item, pg.InfiniteLine)
             and item.value() == change.position]
    assert line.label.toPlainText() == "lr 0.1→0.05"
    plots.start_run("run 2", 12, 2)
    assert plots.change_positions() == []


def test_describe_change_names_the_setting_and_both_values():
    assert describe_change(SettingChanged(3, 10, 100, "patience", 5, 2)) == "patience 5→2"
    assert describe_change(SettingChanged(3, 10, 100, "momentum", 0.0, 0.9)) == "momentum 0→0.9"
    assert describe_change(SettingChanged(3, 10, 100, "learning_rate", 0.1, 0.01)) == "lr 0.1→0.01"


def test_overlays_are_added_updated_and_removed_in_distinct_colours(plots, run_events, other_histories):
    feed(plots, run_events)
    first, second = other_histories
    plots.set_overlay("a", "run A", first, run_color(0))
    plots.set_overlay("b", "run B", second, run_color(1))
    assert plots.overlay_keys() == ["a", "b"]
    a, b = plots.overlay("a"), plots.overlay("b")
    assert a.color != b.color
    np.testing.assert_allclose(a.accuracy_curve.getData()[1], [100 * r.val_accuracy for r in first])
    np.testing.assert_allclose(b.loss_curve.getData()[1], [r.val_loss for r in second])
    legend = [label.text for sample, label in plots.accuracy_legend.items]
    assert legend == ["train", "validation", "run A", "run B"]

    plots.set_overlay("a", "run A (renamed)", first[:2], "#000000")
    assert plots.overlay_keys() == ["a", "b"]
    assert len(a.accuracy_curve.getData()[0]) == 2
    assert a.accuracy_curve.opts["pen"].color().name() == "#000000"
    assert "run A (renamed)" in [label.text for sample, label in plots.accuracy_legend.items]

    plots.start_run("run 2", 12, 2)
    assert plots.overlay_keys() == ["a", "b"], "a new run keeps the overlays"
    assert plots.remove_overlay("a") is True
    assert plots.remove_overlay("a") is False
    assert plots.overlay_keys() == ["b"]
    assert a.accuracy_curve not in plots.accuracy_plot.items and a.loss_curve not in plots.loss_plot.items
    assert [label.text for sample, label in plots.accuracy_legend.items] == ["train", "validation", "run B"]


def test_run_colors_are_distinct():
    names = {run_color(i).name() for i in range(len(RUN_COLORS))}
    assert len(names) == len(RUN_COLORS)
    assert run_color(len(RUN_COLORS)) == run_color(0)


def test_readout_gives_the_exact_figures_of_the_nearest_epoch(plots, run_events, other_histories):
    feed(plots, run_events)
    plots.set_overlay("a", "run A", other_histories[0])
    third = reports_of(run_events)[2]
    text = plots.readout_at(3.3)
    live, overlay = text.splitlines()
    assert live.startswith("run 1, epoch 3:")
    for figure in (f"{100 * third.train_accuracy:.2f}%", f"{100 * third.val_accuracy:.2f}%",
                   f"{third.train_loss:.4f}", f"{third.val_loss:.4f}"):
        assert figure in live
    other = other_histories[0][2]
    assert overlay.startswith("run A, epoch 3:") and f"{other.val_loss:.4f}" in overlay
    assert plots.readout_at(2.6).splitlines()[0].startswith("run 1, epoch 3:")
    assert plots.readout_at(100).splitlines()[1].startswith("run A, epoch 4:")  # its last epoch
    plots.overlay("a").accuracy_curve.hide()
    assert len(plots.readout_at(3).splitlines()) == 1, "hidden overlays are not read out"


def test_moving_the_mouse_over_a_plot_shows_the_readout(plots, run_events, qtbot):
    feed(plots, run_events)
    plots.show()
    qtbot.waitExposed(plots)
    scene_pos = plots.loss_plot.vb.mapViewToScene(QPointF(4.1, plots.loss_plot.viewRange()[1][0]))
    scene_pos.setY(plots.loss_plot.vb.sceneBoundingRect().center().y())
    qtbot.mouseMove(plots.graphics.viewport(), plots.graphics.mapFromScene(scene_pos))
    qtbot.waitUntil(lambda: plots.readout_label.text().startswith("run 1, epoch 4:"))
    assert plots.readout_label.text() == plots.readout_at(4)
    assert all(line.isVisible() and line.value() == 4 for line in plots.hover_lines)


def test_show_result_gives_test_accuracy_best_epoch_and_reason(plots, run_events):
    feed(plots, run_events)
    result = run_events[-1]
    assert result.reason == "early_stopping"
    assert plots.result_label.text() == f"test accuracy {100 * result.test_accuracy:.2f}% " \
                                        f"(best epoch {result.best_epoch})"
    assert f"early stopping after {result.epochs} epochs" in plots.title_label.text()
    assert plots.title_label.toolTip() == result.message
    assert not plots.patience_region.isVisible()
    plots.start_run("run 2", 12, 2)
    assert plots.result_label.text() == ""
    assert all(len(c.getData()[0] if c.getData()[0] is not None else []) == 0
               for c in (plots.train_acc_curve, plots.val_loss_curve))
    assert len(plots.batch_trace()[1]) == 0 and not plots.best_marker.isVisible()


def test_export_png_writes_a_picture_of_the_plots_under_their_title_without_the_controls(plots, run_events,
                                                                                        tmp_path):
    feed(plots, run_events)
    path = plots.export_png(tmp_path / "plots.png")
    image = QImage(str(path))
    assert not image.isNull()
    graphics = plots.graphics
    band = image.height() - graphics.height()
    assert image.width() == graphics.width() and 0 < band < 3 * plots.title_label.fontMetrics().height()
    pixels = rgb(image)
    # Below the title line the picture is the plots' scene, pixel for pixel: no checkbox, slider,
    # fit button or hover text.
    assert np.array_equal(pixels[band:], rgb(graphics.grab().toImage()))
    assert (pixels[:band] < 100).all(axis=-1).sum() > 50, "the title is written above the plots"
    assert distinct_colours(pixels) > 50
    assert has_colour(pixels, "#0072B2") and has_colour(pixels, "#E69F00")
    assert list(tmp_path.iterdir()) == [path], "no temporary file is left behind"


def test_export_png_to_a_missing_folder_says_so(plots, tmp_path):
    with pytest.raises(OSError, match="could not write"):
        plots.export_png(tmp_path / "missing" / "plots.png")


def test_growing_array_keeps_every_value_and_grows_by_doubling():
    array = GrowingArray(4)
    expected = []
    capacities = set()
    for i in range(100):
        chunk = np.arange(i % 7) + i
        array.extend(chunk)
        expected.extend(chunk)
        capacities.add(array.capacity)
    np.testing.assert_array_equal(array.values, expected)
    assert len(capacities) <= 9  # 4, 8, ..., 512: a handful of reallocations for ~300 values


def distinct_colours(pixels: np.ndarray) -> int:
    """How many different RGB colours the (h, w, 3) picture holds (each packed into one integer:
    np.unique over rows takes ~1 s of CPU on a plot-sized picture)."""
    p = pixels.reshape(-1, 3).astype(np.uint32)
    return len(np.unique(p[:, 0] << 16 | p[:, 1] << 8 | p[:, 2]))


def has_colour(pixels: np.ndarray, colour: str, tolerance: int = 12) -> bool:
    return count_colour(pixels, colour, tolerance) >= 20


@pytest.mark.parametrize("reason, message, epochs, short", [
    ("diverged", "diverged at epoch 9, batch 766: lower the learning rate", 8, "diverged at epoch 9"),
    ("stopped", "stopped at epoch 3, batch 12", 2, "stopped at epoch 3"),
    ("early_stopping", "early stopping: no improvement in validation loss for 5 epochs", 11,
     "early stopping after 11 epochs"),
    ("max_epochs", "reached the maximum of 30 epochs", 30, "30 epochs done"),
])
def test_the_title_says_how_a_run_ended_in_a_few_words(plots, reason, message, epochs, short):
    result = TrainingResult(reason=reason, message=message, epochs=epochs, best_epoch=1, best_val_loss=0.5,
                            best_val_accuracy=0.9, test_loss=0.5, test_accuracy=0.9, seconds=1.0, history=())
    plots.show_result(result)
    assert plots.title_label.text() == f"run 1 — {short}"
    assert plots.title_label.toolTip() == message


def test_an_empty_accuracy_plot_spans_0_to_100_percent(qtbot, plots, run_events):
    def accuracy_range():
        low, high = plots.accuracy_plot.viewRange()[1]
        return low, high

    fresh = TrainingPlots()
    qtbot.addWidget(fresh)
    low, high = fresh.accuracy_plot.viewRange()[1]
    assert low <= 0 < 100 <= high < 105
    low, high = accuracy_range()
    assert low <= 0 < 100 <= high < 105
    feed(plots, [e for e in run_events if isinstance(e, EpochReport)][:3])
    low, high = accuracy_range()
    assert low > 50, "with data the plot zooms in on it again"
    plots.start_run("", 12, 2)
    assert plots.title_label.text() == "no run yet"
    low, high = accuracy_range()
    assert low <= 0 < 100 <= high < 105


def test_a_compared_run_shows_its_best_epoch_and_on_request_its_train_curves(plots, qtbot, other_histories):
    history = other_histories[0]
    plots.set_overlay("a", "run A", history, run_color(0))
    overlay = plots.overlay("a")
    best = history[-1].best_epoch
    report = history[best - 1]
    x, y = overlay.best_points[0].getData()
    assert list(x) == [best] and y[0] == pytest.approx(100 * report.val_accuracy)
    assert list(overlay.best_points[1].getData()[1]) == [pytest.approx(report.val_loss)]
    assert not overlay.train_accuracy_curve.isVisible()
    plots.overlay_train_box.click()
    assert overlay.train_accuracy_curve.isVisible() and overlay.train_loss_curve.isVisible()
    np.testing.assert_allclose(overlay.train_loss_curve.getData()[1], [r.train_loss for r in history])
    assert "accuracy train" in plots.readout_at(1)
    plots.set_overlay("b", "run B", other_histories[1], run_color(1))
    assert plots.overlay("b").train_accuracy_curve.isVisible(), "a run ticked later follows the choice"
    plots.set_overlay_train(False)
    assert not overlay.train_loss_curve.isVisible() and not plots.overlay_train_box.isChecked()
    assert plots.remove_overlay("a")
    assert all(item not in plot.items for item in overlay.items for plot in plots.plots)


def test_two_live_changes_close_together_do_not_overlap_their_labels(plots):
    plots.mark_change(SettingChanged(1, 10, 100, "learning_rate", 0.1, 0.05))
    plots.mark_change(SettingChanged(1, 12, 100, "momentum", 0.0, 0.9))
    plots.mark_change(SettingChanged(9, 50, 100, "patience", 5, 0))
    positions = [position for _, position in plots.change_labels]
    assert positions[0] != positions[1], "the second label goes below the first"
    assert positions[2] == positions[0], "a change far away starts again at the top"
    labels = [item.label for item in plots.accuracy_plot.items if isinstance(item, pg.InfiniteLine)
              and getattr(item, "label", None) is not None and item.label.toPlainText() != ""]
    assert sorted(label.orthoPos for label in labels[:2]) == sorted(positions[:2])
    assert [label.toPlainText() for label in labels][-1] == "patience 5→off"


def test_under_a_dark_system_palette_the_plots_are_dark_too(qapp, qtbot):
    from PySide6.QtGui import QPalette

    light = qapp.palette()
    dark = QPalette(light)
    for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.WindowText, "#e8e8e8"),
                         (QPalette.ColorRole.Base, "#1b1b1d"), (QPalette.ColorRole.Text, "#e8e8e8")):
        dark.setColor(role, QColor(colour))
    qapp.setPalette(dark)
    try:
        widget = TrainingPlots()
        qtbot.addWidget(widget)
    finally:
        qapp.setPalette(light)
    widget.resize(700, 500)
    pixels = rgb(widget.graphics.grab().toImage())
    assert np.median(pixels) < 80, "a dark card, not a white one"
    assert widget.accuracy_plot.getAxis("left").pen().color().lightness() > 150  # light axes on it
    fresh = TrainingPlots()
    qtbot.addWidget(fresh)
    fresh.resize(700, 500)
    assert np.median(rgb(fresh.graphics.grab().toImage())) > 200, "a light palette keeps the light card"


def test_the_epoch_plots_y_ranges_move_in_round_steps_and_keep_every_point_in_view(plots, run_events):
    """A moved range redraws the axis and its grid: the accuracy and loss plots move theirs only when the
    curves leave it (or fill less than half), not at every epoch as pyqtgraph's auto-range does."""
    epochs = [e for e in run_events if isinstance(e, EpochReport)]
    ranges = {"accuracy": [], "loss": []}
    for i, report in enumerate(epochs):
        feed(plots, [report])
        shown_so_far = epochs[:i + 1]
        for name, plot, values in (("accuracy", plots.accuracy_plot, [100 * r.val_accuracy for r in shown_so_far]
                                    + [100 * r.train_accuracy for r in shown_so_far]),
                                   ("loss", plots.loss_plot, [r.val_loss for r in shown_so_far]
                                    + [r.train_loss for r in shown_so_far])):
            low, high = plot.viewRange()[1]
            if plots.log_loss and name == "loss":
                values = np.log10(values)
            assert low <= min(values) and max(values) <= high, f"{name} epoch {report.epoch}: a point out of view"
            ranges[name].append((low, high))
    for name, shown in ranges.items():
        moves = sum(a != b for a, b in zip(shown, shown[1:]))
        assert moves <= len(epochs) // 2, f"the {name} range moved {moves} times in {len(epochs)} epochs"


def test_on_screen_an_epoch_reaches_the_loss_plot_one_turn_after_the_accuracy_plot(qtbot, run_events):
    """Each half of an epoch's redraw (and its repaint) gets its own turn of the event loop; whatever is
    asked of the plots next finishes a pending epoch first, so no reader sees half an epoch."""
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    widget.start_run("run 1", 12, 2)
    reports = reports_of(run_events)

    def points(curve):
        x, _ = curve.getData()
        return 0 if x is None else len(x)

    with qtbot.waitSignal(widget.epoch_drawn) as drawn:
        widget.add_epoch(reports[0])
        assert points(widget.val_acc_curve) == 1 and widget.best_accuracy_point.isVisible()
        assert points(widget.val_loss_curve) == 0 and not widget.best_loss_point.isVisible()
    assert drawn.args == [reports[0]]
    assert points(widget.val_loss_curve) == 1 and widget.best_loss_marker.value() == reports[0].best_epoch
    widget.add_epoch(reports[1])
    widget.add_epoch(reports[2])  # finishes epoch 2 on the loss plot first
    assert points(widget.val_loss_curve) == 2
    widget.set_patience(2)
    assert points(widget.val_loss_curve) == 3
    np.testing.assert_allclose(widget.train_loss_curve.getData()[1], [r.train_loss for r in reports[:3]])
