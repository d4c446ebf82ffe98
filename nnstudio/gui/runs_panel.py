"""The runs list: every run kept, its settings and scores, and a tick box to overlay it on the plots.

A group of repeats (Repeat ×N) is one row that expands to its runs; its test accuracy reads
``mean ± sd (min–max)``, and ticking it shows its mean curve and min–max band on the plots."""

from __future__ import annotations

import math
from numbers import Real
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.repeats import RunGroup, summary_text
from nnstudio.core.run_folder import Run
from nnstudio.gui.naming import named

COLUMNS = ("Run", "Best val", "Test", "Epochs", "Time", "Ended by", "Settings")
SETTINGS_COLUMN = COLUMNS.index("Settings")
RUN_ROLE = Qt.ItemDataRole.UserRole
GROUP_ROLE = Qt.ItemDataRole.UserRole + 1  # a group row's RunGroup
COLOR_ROLE = Qt.ItemDataRole.UserRole + 2  # a run row's colour index (its place in the order listed)


def is_number(value) -> bool:
    """A finite real number (not a bool, not a string like "97%" from a hand-edited summary)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def percent(value) -> str:
    return f"{100 * value:.2f}%" if is_number(value) else ""


def duration(seconds) -> str:
    if not is_number(seconds) or not seconds:
        return ""
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}" if minutes else f"{seconds} s"


def run_cells(run: Run) -> list[str]:
    """The text of a run's row, column by column."""
    c, s = run.config, run.summary
    reason = str(s.get("reason", "")).replace("_", " ")
    return [run.name, percent(s.get("best_val_accuracy")), percent(s.get("test_accuracy")),
            str(s.get("epochs", len(run.history))), duration(s.get("seconds")), reason,
            settings_summary(c, getattr(run, "live_settings", {}))]


def changed(start, end) -> str:
    """``"0.001"``, or ``"0.001→1"`` when a live change took the setting from ``start`` to ``end``."""
    if end is None or end == start:
        return f"{start:g}"
    return f"{start:g}→{end:g}"


def settings_summary(c, live: dict | None = None) -> str:
    """The hyperparameters that tell runs apart, in one short line.

    ``live`` holds the live settings a run ended with; the learning rate, momentum, patience and
    dropout rates changed during the run read "lr 0.001→1".
    """
    if c is None:
        return "unknown settings"
    live = live or {}
    rate, momentum = live.get("learning_rate"), live.get("momentum")
    patience = live.get("patience", c.patience)
    if patience == c.patience:
        stopping = f"patience {c.patience}" if c.patience else "no early stop"
    else:
        stopping = f"patience {c.patience or 'off'}→{patience or 'off'}"
    parts = [f"lr {changed(c.learning_rate, rate)}", "-".join(str(h) for h in c.hidden), f"batch {c.batch_size}",
             stopping]
    if c.momentum or momentum:
        parts.append(f"momentum {changed(c.momentum, momentum)}{' nesterov' if c.nesterov else ''}")
    if c.schedule != "constant":
        parts.append(c.schedule)
    if c.activation != "relu":
        parts.append(c.activation)
    for field, label in (("dropout", "dropout"), ("input_dropout", "input dropout")):
        start, end = getattr(c, field, 0.0), live.get(field)
        if start or end:
            parts.append(f"{label} {changed(start, end)}")
    if c.weight_decay:
        parts.append(f"L2 {c.weight_decay:g}")
    if c.augment_shift:
        parts.append(f"shift {c.augment_shift}px")
    return " · ".join(parts)


def settings_tooltip(text: str, run: Run) -> str:
    """The settings line, then each live change where it happened ("epoch 3, batch 120: dropout 0→0.3")."""
    from nnstudio.gui.plot_style import describe_change

    changes = getattr(run, "setting_changes", ())
    lines = [f"epoch {c.epoch}, batch {c.batch}: {describe_change(c)}" for c in changes[:20]]
    if len(changes) > 20:
        lines.append(f"… and {len(changes) - 20} more changes")
    return "\n".join([text, *(["Changed during the run:"] + lines if lines else [])])


def group_cells(group: RunGroup) -> list[str]:
    """The text of a group's row: its runs' figures as ``mean ± sd (min–max)`` where they vary."""
    runs = group.runs
    best = [r.summary["best_val_accuracy"] for r in runs if is_number(r.summary.get("best_val_accuracy"))]
    epochs = [r.summary.get("epochs", len(r.history)) for r in runs]
    epochs = [e for e in epochs if is_number(e)]
    seconds = [r.summary.get("seconds") for r in runs if is_number(r.summary.get("seconds"))]
    seeds = sorted(r.config.seed for r in runs if r.config is not None)
    settings = settings_summary(runs[0].config) if runs else ""
    if seeds:
        settings += f" · seeds {', '.join(map(str, seeds))}"
    return [f"{group.name} (×{len(runs)})", summary_text(best) if best else "", group.summary_text(),
            (f"{min(epochs)}" if min(epochs) == max(epochs) else f"{min(epochs)}–{max(epochs)}") if epochs else "",
            duration(max(seconds)) if seconds else "", f"{len(runs)} repeats", settings]


def swatch(color: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(color)
    return QIcon(pixmap)


class RunsPanel(QWidget):
    """A table of runs; ticking a run asks for its overlay, in the colour of its swatch."""

    overlay_toggled = Signal(object, bool)  # Run, shown
    group_toggled = Signal(object, bool)  # RunGroup, shown: its mean curve and min–max band
    model_requested = Signal(object)  # Run: load its model into the sketch panel
    selection_changed = Signal(object)  # Run or None

    def __init__(self, color_of=None, parent: QWidget | None = None) -> None:
        """``color_of(index) -> QColor`` gives the overlay colour of the index-th run listed."""
        super().__init__(parent)
        self._color_of = color_of or (lambda i: QColor.fromHsv((i * 67) % 360, 200, 200))
        self._rows: dict[Path, QTreeWidgetItem] = {}  # each listed run's row, by folder
        self._groups: dict[Path, QTreeWidgetItem] = {}  # each group of repeats' row, by folder
        self._grouped = 0  # runs listed in a group's row rather than at the top
        self.tree = QTreeWidget()
        self.tree.setObjectName("runsTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setToolTip("Every run you trained. Tick a run to overlay its curves on the plots; "
                             "double-click it to try its model on the sketch pad.")
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SETTINGS_COLUMN, QHeaderView.ResizeMode.Interactive)
        for column in range(1, SETTINGS_COLUMN):
            self.tree.headerItem().setTextAlignment(column, Qt.AlignmentFlag.AlignCenter)

        self.hint = QLabel("Tick runs to compare their curves.")
        self.hint.setWordWrap(True)
        self.hint.setMinimumWidth(60)
        self.hint.setStyleSheet("color: palette(mid);")
        self.sketch_button = QPushButton("Use in sketch pad")
        self.sketch_button.setToolTip("Classify your drawings with the selected run's best model.")
        self.sketch_button.setEnabled(False)
        self.clear_button = QPushButton("Untick all")
        self.tree.setMinimumWidth(220)
        self.clear_button.setToolTip("Remove every overlay from the plots.")

        buttons = QHBoxLayout()
        buttons.addWidget(self.hint, 1)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.sketch_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)

        named(self.tree, "runsTree", "Runs")
        named(self.sketch_button, "useRunButton", "Use in sketch pad")
        named(self.clear_button, "untickAllButton", "Untick all")
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemSelectionChanged.connect(self._on_selection_changed)
        self.tree.itemDoubleClicked.connect(self._on_double_clicked)
        self.sketch_button.clicked.connect(self._on_sketch_clicked)
        self.clear_button.clicked.connect(self.untick_all)

    # -- contents --------------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        return [run for run, _ in self._items()]

    def item_of(self, folder: Path) -> QTreeWidgetItem | None:
        return self._rows.get(Path(folder))

    def unreadable(self) -> list[tuple[str, str]]:
        """The rows of run folders that cannot be read: (text, the reason shown on hover)."""
        rows = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [(item.text(0), item.toolTip(0)) for item in rows if self._is_unreadable(item)]

    @staticmethod
    def _is_unreadable(item: QTreeWidgetItem) -> bool:
        return item.data(0, RUN_ROLE) is None and item.data(0, GROUP_ROLE) is None

    def _listed_rows(self) -> int:
        """Top-level rows of runs and groups (the unreadable rows come after them)."""
        return len(self._rows) - self._grouped + len(self._groups)

    def set_unreadable(self, problems) -> None:
        """Show each :class:`~nnstudio.core.run_folder.UnreadableRun` as a greyed row after the runs,
        its reason on hover; they can be neither ticked nor used."""
        with QSignalBlocker(self.tree):
            for i in reversed(range(self.tree.topLevelItemCount())):
                if self._is_unreadable(self.tree.topLevelItem(i)):
                    self.tree.takeTopLevelItem(i)
            for problem in problems:
                item = QTreeWidgetItem([f"{problem.name} (unreadable)"] + [""] * (len(COLUMNS) - 2)
                                       + ["cannot be read: hover for why"])
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.setForeground(0, QColor("gray"))
                for column in (0, SETTINGS_COLUMN):
                    item.setToolTip(column, f"{problem.folder}\ncannot be read: {problem.reason}")
                self.tree.addTopLevelItem(item)

    def color(self, run: Run) -> QColor:
        item = self.item_of(run.folder)
        return self._color_of(item.data(0, COLOR_ROLE) if item else len(self._rows))

    # -- groups of repeats ---------------------------------------------------------------------

    def groups(self) -> list[RunGroup]:
        return [item.data(0, GROUP_ROLE) for item in self._groups.values()]

    def group_item(self, folder: Path) -> QTreeWidgetItem | None:
        return self._groups.get(Path(folder))

    def set_group_checked(self, group: RunGroup, checked: bool) -> None:
        """Tick or untick a group's row without asking for its band again (the caller shows it)."""
        item = self.group_item(group.folder)
        if item is not None:
            with QSignalBlocker(self.tree):
                item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def checked_groups(self) -> list[RunGroup]:
        return [i.data(0, GROUP_ROLE) for i in self._groups.values() if i.checkState(0) == Qt.CheckState.Checked]

    def _group_row(self, folder: Path) -> QTreeWidgetItem:
        item = self._groups.get(folder)
        if item is None:
            item = QTreeWidgetItem()
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Unchecked)
            item.setData(0, GROUP_ROLE, RunGroup(folder, ()))
            self.tree.insertTopLevelItem(self._listed_rows(), item)
            self._groups[folder] = item
            self.tree.setRootIsDecorated(True)  # its arrow opens it to its runs
        return item

    def _show_group(self, item: QTreeWidgetItem) -> None:
        runs = tuple(item.child(i).data(0, RUN_ROLE) for i in range(item.childCount()))
        group = RunGroup(item.data(0, GROUP_ROLE).folder, runs)
        item.setData(0, GROUP_ROLE, group)
        for column, text in enumerate(group_cells(group)):
            item.setText(column, text)
            if 0 < column < SETTINGS_COLUMN:
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignCenter)
        item.setToolTip(0, f"{group.folder}\nRepeats of one configuration, seeds 0..N-1: tick to draw their mean "
                           "curve and min–max band; open to see each run.")
        item.setToolTip(SETTINGS_COLUMN, item.text(SETTINGS_COLUMN))
        if runs:
            item.setIcon(0, swatch(self._color_of(item.child(0).data(0, COLOR_ROLE))))

    def add_run(self, run: Run) -> QTreeWidgetItem:
        """List ``run``, or refresh its row if its folder is listed already (its tick stays)."""
        item = self.item_of(run.folder)
        if item is not None and item.data(0, RUN_ROLE) is run:
            return item  # listed as it is: nothing to redraw (thousands of runs list in chunks)
        with QSignalBlocker(self.tree):
            if item is None:
                item = QTreeWidgetItem()
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(0, Qt.CheckState.Unchecked)
                if getattr(run, "group", None) is not None:
                    self._group_row(run.group).addChild(item)
                    self._grouped += 1
                else:
                    self.tree.insertTopLevelItem(self._listed_rows(), item)  # before the unreadable rows
                item.setData(0, COLOR_ROLE, len(self._rows))
                self._rows[run.folder] = item
                item.setIcon(0, swatch(self._color_of(item.data(0, COLOR_ROLE))))
            item.setData(0, RUN_ROLE, run)
            for column, text in enumerate(run_cells(run)):
                item.setText(column, text)
                if 0 < column < SETTINGS_COLUMN:
                    item.setTextAlignment(column, Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(SETTINGS_COLUMN, settings_tooltip(item.text(SETTINGS_COLUMN), run))
            item.setToolTip(0, f"{run.folder}\n{run.summary.get('message', '')}".strip())
            if item.parent() is not None:
                self._show_group(item.parent())
        if item.checkState(0) == Qt.CheckState.Checked:
            self.overlay_toggled.emit(run, True)
        return item

    def set_runs(self, runs: list[Run]) -> None:
        for run in runs:
            self.add_run(run)

    def checked_runs(self) -> list[Run]:
        return [r for r, i in self._items() if i.checkState(0) == Qt.CheckState.Checked]

    def set_checked(self, run: Run, checked: bool) -> None:
        item = self.item_of(run.folder)
        if item is not None:
            item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def untick_all(self) -> None:
        for run in self.checked_runs():
            self.set_checked(run, False)
        for item in self._groups.values():
            if item.checkState(0) == Qt.CheckState.Checked:
                item.setCheckState(0, Qt.CheckState.Unchecked)  # announced: its band goes

    def selected_run(self) -> Run | None:
        items = self.tree.selectedItems()
        return items[0].data(0, RUN_ROLE) if items else None

    def _items(self):
        """Every run's row in the order listed (a group's runs where the group is)."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, RUN_ROLE) is not None:  # not an unreadable run's row
                yield item.data(0, RUN_ROLE), item
            elif item.data(0, GROUP_ROLE) is not None:
                for k in range(item.childCount()):
                    yield item.child(k).data(0, RUN_ROLE), item.child(k)

    # -- reactions -------------------------------------------------------------------------------

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        checked = item.checkState(0) == Qt.CheckState.Checked
        if item.data(0, GROUP_ROLE) is not None:
            self.group_toggled.emit(item.data(0, GROUP_ROLE), checked)
        elif item.data(0, RUN_ROLE) is not None:
            self.overlay_toggled.emit(item.data(0, RUN_ROLE), checked)

    def _on_selection_changed(self) -> None:
        run = self.selected_run()
        self.sketch_button.setEnabled(run is not None)
        self.selection_changed.emit(run)

    def _on_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        run = item.data(0, RUN_ROLE)
        if run is not None:
            self.model_requested.emit(run)

    def _on_sketch_clicked(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.model_requested.emit(run)
