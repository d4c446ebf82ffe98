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
import math
import os
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.checkpoints import CHECKPOINTS, save_checkpoints
from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import ModelFileError, read_metadata, save_model
from nnstudio.core.reports import EpochReport, SettingChanged

MODEL = "model.npz"
HISTORY = "history.csv"
PLOT = "training_history.png"
HISTORY_COLUMNS = tuple(f.name for f in dataclasses.fields(EpochReport) if f.name != "diagnostics")


@dataclass(frozen=True)
class Run:
    """What a run folder says about its run (the weights stay on disk until asked for)."""

    folder: Path
    name: str
    config: TrainingConfig | None
    history: tuple[EpochReport, ...]
    summary: dict
    created: str
    live_settings: dict = dataclasses.field(default_factory=dict)  # every live setting's value at the end
    setting_changes: tuple[SettingChanged, ...] = ()  # every live change, where it happened
    group: Path | None = None  # the folder of its group of repeats (holding group.json), if any

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL

    @property
    def checkpoints_path(self) -> Path:
        return self.folder / CHECKPOINTS


@dataclass(frozen=True)
class UnreadableRun:
    """A run folder the app cannot read: listed as such, with the reason, never fatal."""

    folder: Path
    reason: str

    @property
    def name(self) -> str:
        return self.folder.name

    def __str__(self) -> str:
        return f"{self.folder.name}: unreadable run ({self.reason})"


# Whatever a damaged or hostile run folder can make the readers raise (zipfile raises RuntimeError
# for an entry flagged as encrypted, int() OverflowError for Infinity, deep JSON RecursionError).
_DAMAGE = (ModelFileError, AttributeError, KeyError, TypeError, ValueError, OverflowError, OSError, csv.Error,
           RuntimeError, RecursionError, MemoryError, EOFError, NotImplementedError, zipfile.BadZipFile,
           zlib.error, UnicodeError)
MAX_EPOCH = 10_000_000  # far beyond any run; bounds the integers a history row may hold


def new_run_folder(root: str | Path, suffix: str = "", what: str = "a run folder") -> Path:
    """Create and return ``root/<timestamp><suffix>``, with a number after it if that name is taken."""
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S") + suffix
    for n in range(1, 1000):
        folder = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise OSError(f"cannot create {what} in {root}")


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


# The config field of each augmentation strength (an Augmentation's field -> its TrainingConfig name).
AUGMENTATION_FIELDS = {"shift": "augment_shift", "rotate": "augment_rotate", "scale": "augment_scale",
                       "shear": "augment_shear", "elastic_alpha": "elastic_alpha", "elastic_sigma": "elastic_sigma",
                       "noise": "augment_noise", "thickness": "augment_thickness",
                       "thickness_bias": "augment_thickness_bias", "unwarped": "augment_unwarped"}
MAX_CHANGES = 100_000


def live_settings(trainer) -> dict:
    """Every setting a run may change live, as it ended (config field names): the learning rate,
    momentum, patience, dropout rates and augmentation strengths."""
    live = {"learning_rate": trainer.learning_rate, "momentum": trainer.momentum, "patience": trainer.patience}
    for name in ("dropout", "input_dropout"):
        if hasattr(trainer, name):
            live[name] = getattr(trainer, name)
    augmentation = getattr(trainer, "augmentation", None)
    if augmentation is not None:
        live.update({field: getattr(augmentation, name) for name, field in AUGMENTATION_FIELDS.items()})
    return live


def save_run(folder: str | Path, trainer, *, name: str | None = None) -> Path:
    """Write a trainer's model and history into ``folder``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {
        "name": name or folder.name,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "config": trainer.config.to_dict(),
        "live_settings": live_settings(trainer),
        "setting_changes": [dataclasses.asdict(c) for c in getattr(trainer, "setting_changes", ())],
        "summary": run_summary(trainer),
        "history": [history_row(r) for r in trainer.history],
        "data_checksum": trainer.data.checksum,
    }
    if hasattr(trainer, "random_state"):
        metadata["random_state"] = trainer.random_state  # where a resumed run's draws go on
    save_model(folder / MODEL, trainer.network, metadata=metadata,
               optimizer_state=getattr(trainer, "optimizer_state", None))
    if len(getattr(trainer, "checkpoints", ())):
        save_checkpoints(folder / CHECKPOINTS, trainer.checkpoints, trainer.network.activation)
    write_history_csv(folder / HISTORY, trainer.history)
    return folder


def resume_trainer(folder: str | Path, data, **options):
    """A :class:`~nnstudio.core.trainer.Trainer` that takes up the run saved in ``folder`` where it
    ended, on ``data`` (the split it trained on): its best weights, history, live settings, the
    optimiser's state (momentum, Adam's moments and step count) and its random streams, so that
    ``run(n)`` continues as "+1 epoch" would have in the run's own session. Raises ModelFileError
    when the folder cannot be resumed (unreadable, no configuration, other data)."""
    from nnstudio.core.checkpoints import load_checkpoints
    from nnstudio.core.model_file import load_model
    from nnstudio.core.trainer import Trainer

    run = load_run(folder)
    if run.config is None:
        raise ModelFileError(f"{run.folder.name}: its settings cannot be read, so it cannot be continued")
    saved = load_model(run.model_path)
    trainer = Trainer(run.config, data, network=saved.network, **options)
    checksum = saved.metadata.get("data_checksum")
    if checksum and checksum != trainer.data.checksum:
        raise ModelFileError(f"{run.folder.name} was trained on other data: open the data it trained on to continue it")
    checkpoints = None
    if run.checkpoints_path.exists():
        checkpoints = load_checkpoints(run.checkpoints_path).checkpoints
    random_state = saved.metadata.get("random_state")
    try:
        trainer.restore(run.history, saved.optimizer_state, live=run.live_settings, random_state=random_state,
                        seconds=run.summary.get("seconds") or 0.0, checkpoints=checkpoints)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ModelFileError(f"{run.folder.name}: its saved state cannot be taken up ({_describe(exc)})") from None
    strengths = {name: run.live_settings[field] for name, field in AUGMENTATION_FIELDS.items()
                 if field in run.live_settings}
    if strengths:
        trainer.augmentation = dataclasses.replace(trainer.augmentation, **strengths)
    trainer.setting_changes = list(run.setting_changes)  # saved again, the run keeps its earlier changes
    return trainer


def load_run(folder: str | Path) -> Run:
    """Read a run folder's metadata; raises ModelFileError (and only that) if it is unusable."""
    run = read_run(folder)
    if isinstance(run, UnreadableRun):
        raise ModelFileError(str(run))
    return run


def read_run(folder: str | Path) -> Run | UnreadableRun:
    """A run folder as a :class:`Run`, or as an :class:`UnreadableRun` saying why; never raises
    for anything in the folder's files."""
    folder = Path(folder)
    try:
        return _load_run(folder)
    except ModelFileError as exc:
        reason = str(exc)
        for prefix in (f"{folder / MODEL}: ", f"{MODEL}: "):
            reason = reason.removeprefix(prefix)
    except _DAMAGE as exc:
        reason = _describe(exc)
    return UnreadableRun(folder, reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "data nested too deeply"
    if isinstance(exc, MemoryError):
        return "too large to read"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _load_run(folder: Path) -> Run:
    meta = read_metadata(folder / MODEL)
    config = meta.get("config")
    summary = meta.get("summary", {})
    live = meta.get("live_settings", {})
    rows = meta.get("history")
    if not all(isinstance(d, (dict, type(None))) for d in (config, summary, live)):
        raise TypeError("config, summary and live settings must be JSON objects")
    summary, live = dict(summary or {}), dict(live or {})
    for values in (summary, live):
        for key, value in values.items():
            if key in ("reason", "message"):
                values[key] = _short_text(value)
            elif value is not None:
                values[key] = _finite(value, key)
    if not isinstance(rows, (list, type(None))) or not all(isinstance(r, dict) for r in rows or ()):
        raise TypeError("history must be a list of JSON objects")
    try:
        config = TrainingConfig.from_dict(config) if config else None
    except (TypeError, ValueError, OverflowError):
        config = None  # a run from another version: its figures still show
    history = tuple(report_from_row(r) for r in rows) if rows else read_history_csv(folder / HISTORY)
    changes = read_setting_changes(meta.get("setting_changes", []))
    return Run(folder, _short_text(meta.get("name", folder.name)), config, history, summary,
               _short_text(meta.get("created", "")), live, changes, folder.parent if _is_group(folder.parent) else None)


def read_setting_changes(rows) -> tuple[SettingChanged, ...]:
    """The live changes a run folder records; raises TypeError or ValueError for anything malformed."""
    if not isinstance(rows, list) or len(rows) > MAX_CHANGES or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"setting changes must be a list of at most {MAX_CHANGES:,} JSON objects")
    changes = []
    for row in rows:
        epoch, batch, batches = (_finite(row.get(k), k) for k in ("epoch", "batch", "batches"))
        if not all(isinstance(v, int) for v in (epoch, batch, batches)) or epoch < 1 or batches < 1 \
                or not 0 <= batch <= batches or epoch > MAX_EPOCH:
            raise ValueError(f"a setting change at epoch {epoch}, batch {batch} of {batches} is not a place in a run")
        changes.append(SettingChanged(epoch, batch, batches, _short_text(row.get("name"))[:80],
                                      _finite(row.get("old"), "old"), _finite(row.get("new"), "new")))
    return tuple(changes)


def _short_text(value) -> str:
    """A name or note for display: a string as is (clipped), anything else refused."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"expected text, not {type(value).__name__}")
    return value[:1000]


def _finite(value, key: str) -> float | int:
    """A summary figure: a finite number of a size a float can hold."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{key} must be a number, not {str(value)[:40]!r}")
    if isinstance(value, int):
        if abs(value) > MAX_EPOCH * 1000:
            raise ValueError(f"{key} is out of range ({len(str(abs(value)))} digits)")
        return value
    if not math.isfinite(value):
        raise ValueError(f"{key} is {value}, not a finite number")
    return value


def list_runs(root: str | Path) -> tuple[list[Run], list[UnreadableRun]]:
    """Every readable run below ``root``, oldest first, and an :class:`UnreadableRun` (with the
    reason) for each folder that looks like a run but cannot be read. Never raises: a folder
    that vanishes or cannot be listed gives no runs."""
    runs: list[Run] = []
    problems: list[UnreadableRun] = []
    for folder in run_folders(root):
        run = read_run(folder)
        (problems if isinstance(run, UnreadableRun) else runs).append(run)
    runs.sort(key=lambda r: (r.created, r.folder.name))
    return runs, problems


def run_folders(root: str | Path) -> list[Path]:
    """The folders below ``root`` that hold a model file, by name (cheap: nothing is read), and
    those one level down in a group of repeats (a folder holding ``group.json``)."""
    try:
        folders = [p for p in Path(root).iterdir() if _looks_like_run(p)]
        groups = [p for p in Path(root).iterdir() if _is_group(p)]
    except OSError:
        return []
    for group in groups:
        try:
            folders += [q for q in group.iterdir() if _looks_like_run(q)]
        except OSError:
            continue
    return sorted(folders)


def _is_group(folder: Path) -> bool:
    try:
        return folder.is_dir() and os.path.isfile(folder / "group.json")
    except OSError:
        return False


def _looks_like_run(folder: Path) -> bool:
    try:
        return folder.is_dir() and os.path.lexists(folder / MODEL)
    except OSError:  # a permission error below, a name the file system refuses
        return False


def history_row(report: EpochReport) -> dict:
    return {name: getattr(report, name) for name in HISTORY_COLUMNS}


def report_from_row(row: dict) -> EpochReport:
    """An EpochReport from a CSV or JSON row; missing optional figures are filled in, missing
    required ones (epoch, losses, accuracies, learning rate) or non-finite ones raise ValueError."""
    get = row.get

    def number(key, default=None, kind=float, required=False):
        value = get(key)
        kind_of = type(value)
        if kind_of is float:  # the common case (JSON): no conversion
            x = value
        elif kind_of is int:
            if not -MAX_EPOCH <= value <= MAX_EPOCH:
                raise ValueError(f"{key} is out of range ({len(str(abs(value)))} digits)")
            x = float(value)
        elif value is None or value == "":
            if required:
                raise ValueError(f"a history row without {key}")
            return default
        elif kind_of is str and len(value) <= 40:
            x = float(value)
        else:
            raise ValueError(f"{key} must be a number, not {str(value)[:40]!r}")
        if x - x != 0:  # infinite or NaN
            raise ValueError(f"{key} is {value}, not a finite number")
        if kind is int:
            if not x.is_integer() or abs(x) > MAX_EPOCH:
                raise ValueError(f"{key} must be a whole number up to {MAX_EPOCH:,}, not {str(value)[:40]}")
            return int(x)
        return x

    epoch = number("epoch", kind=int, required=True)
    if epoch < 1:
        raise ValueError(f"epoch {epoch} is not positive")
    val_loss = number("val_loss", required=True)
    return EpochReport(
        epoch=epoch, train_loss=number("train_loss", required=True),
        train_accuracy=number("train_accuracy", required=True),
        val_loss=val_loss, val_accuracy=number("val_accuracy", required=True),
        learning_rate=number("learning_rate", required=True),
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
