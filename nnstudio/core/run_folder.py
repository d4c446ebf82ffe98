"""A run folder: one training run's model, history and plot, as ``nnstudio-train --out`` writes it.

    runs/20261124-153012/
        model.npz               weights + metadata (config, history, result, data checksum)
        history.csv             one row per epoch
        training_history.png    accuracy and loss, train and validation (written by the caller)
        checkpoints.npz         the weights of every epoch (thinned evenly past 64), for the epoch scrubber
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from dataclasses import dataclass
from pathlib import Path

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.checkpoints import CHECKPOINTS, save_checkpoints
from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import ModelFileError, read_metadata, save_model
from nnstudio.core.reports import EpochReport

MODEL = "model.npz"
HISTORY = "history.csv"
PLOT = "training_history.png"
HISTORY_COLUMNS = tuple(f.name for f in dataclasses.fields(EpochReport))


@dataclass(frozen=True)
class Run:
    """What a run folder says about its run (the weights stay on disk until asked for)."""

    folder: Path
    name: str
    config: TrainingConfig | None
    history: tuple[EpochReport, ...]
    summary: dict
    created: str
    live_settings: dict = dataclasses.field(default_factory=dict)  # learning_rate, momentum, patience at the end

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL

    @property
    def checkpoints_path(self) -> Path:
        return self.folder / CHECKPOINTS


def new_run_folder(root: str | Path) -> Path:
    """Create and return ``root/<timestamp>``, with a suffix if that name is taken."""
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise OSError(f"cannot create a run folder in {root}")


def run_summary(trainer) -> dict:
    """The figures a runs list shows, from a trainer whose run has ended."""
    result = trainer.result
    return {
        "reason": result.reason if result else "",
        "message": result.message if result else "",
        "epochs": trainer.epoch,
        "best_epoch": result.best_epoch if result else 0,
        "best_val_accuracy": result.best_val_accuracy if result else None,
        "best_val_loss": result.best_val_loss if result and result.best_epoch else None,
        "test_accuracy": result.test_accuracy if result else None,
        "test_loss": result.test_loss if result else None,
        "seconds": result.seconds if result else 0.0,
        "threads": getattr(trainer, "threads", 1),  # the count the run trained on
    }


def save_run(folder: str | Path, trainer, *, name: str | None = None) -> Path:
    """Write a trainer's model and history into ``folder``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {
        "name": name or folder.name,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "config": trainer.config.to_dict(),
        "live_settings": {"learning_rate": trainer.learning_rate, "momentum": trainer.momentum,
                          "patience": trainer.patience},
        "summary": run_summary(trainer),
        "history": [history_row(r) for r in trainer.history],
        "data_checksum": trainer.data.checksum,
    }
    save_model(folder / MODEL, trainer.network, metadata=metadata)
    if len(getattr(trainer, "checkpoints", ())):
        save_checkpoints(folder / CHECKPOINTS, trainer.checkpoints, trainer.network.activation)
    write_history_csv(folder / HISTORY, trainer.history)
    return folder


def load_run(folder: str | Path) -> Run:
    """Read a run folder's metadata; raises ModelFileError if it is unusable."""
    folder = Path(folder)
    meta = read_metadata(folder / MODEL)
    try:
        config = meta.get("config")
        summary = meta.get("summary", {})
        live = meta.get("live_settings", {})
        rows = meta.get("history")
        if not all(isinstance(d, (dict, type(None))) for d in (config, summary, live)):
            raise TypeError("config, summary and live settings must be JSON objects")
        for key, value in {**(summary or {}), **(live or {})}.items():
            if key not in ("reason", "message") and not isinstance(value, (int, float, type(None))):
                raise TypeError(f"{key} must be a number, not {value!r}")
        if not isinstance(rows, (list, type(None))) or not all(isinstance(r, dict) for r in rows or ()):
            raise TypeError("history must be a list of JSON objects")
        try:
            config = TrainingConfig.from_dict(config) if config else None
        except (TypeError, ValueError):
            config = None  # a run from another version: its figures still show
        history = tuple(report_from_row(r) for r in rows) if rows else read_history_csv(folder / HISTORY)
    except (AttributeError, KeyError, TypeError, ValueError, OSError, csv.Error) as exc:
        raise ModelFileError(f"{folder.name}: unreadable run ({exc})") from None
    return Run(folder, str(meta.get("name", folder.name)), config, history, summary or {},
               str(meta.get("created", "")), dict(live or {}))


def list_runs(root: str | Path) -> tuple[list[Run], list[str]]:
    """Every readable run below ``root``, oldest first, and a message for each unreadable one."""
    runs, problems = [], []
    root = Path(root)
    if not root.is_dir():
        return runs, problems
    folders = [p for p in root.iterdir() if (p / MODEL).is_file()]
    folders += [q for p in root.iterdir() if (p / "group.json").is_file()  # repeats: a group of runs
                for q in p.iterdir() if (q / MODEL).is_file()]
    for folder in sorted(folders):
        try:
            runs.append(load_run(folder))
        except (ModelFileError, OSError) as exc:
            problems.append(str(exc))
    runs.sort(key=lambda r: (r.created, r.folder.name))
    return runs, problems


def history_row(report: EpochReport) -> dict:
    return dataclasses.asdict(report)


def report_from_row(row: dict) -> EpochReport:
    """An EpochReport from a CSV or JSON row; missing optional figures are filled in."""
    def number(key, default=None, kind=float):
        value = row.get(key, "")
        return default if value in ("", None) else kind(value)

    epoch = number("epoch", kind=int)
    if epoch is None:
        raise ValueError("a history row without an epoch")
    val_loss = number("val_loss")
    return EpochReport(
        epoch=epoch, train_loss=number("train_loss"), train_accuracy=number("train_accuracy"),
        val_loss=val_loss, val_accuracy=number("val_accuracy"), learning_rate=number("learning_rate"),
        seconds=number("seconds", 0.0), best_epoch=number("best_epoch", epoch, int),
        best_val_loss=number("best_val_loss", val_loss), best_val_accuracy=number("best_val_accuracy", 0.0),
        patience_left=number("patience_left", None, int),
        improved=str(row.get("improved", "")).lower() in ("1", "true"),
    )


def write_history_csv(path: str | Path, history) -> Path:
    """One row per epoch, columns as in :data:`HISTORY_COLUMNS`; written atomically."""
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for report in history:
        row = history_row(report)
        row["improved"] = int(row["improved"])
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    with atomic_write(path, "w", newline="") as f:
        f.write(buffer.getvalue())
    return path


def read_history_csv(path: str | Path) -> tuple[EpochReport, ...]:
    with open(path, newline="") as f:
        return tuple(report_from_row(row) for row in csv.DictReader(f))
