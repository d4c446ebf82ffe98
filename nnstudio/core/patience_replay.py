"""Early stopping replayed on a finished run: where a patience and a min-delta would have stopped it.

The rule is the trainer's, step for step: an epoch improves when its validation loss is below the
best so far minus ``min_delta`` (or, monitoring validation accuracy, when that is above the best so
far plus ``min_delta``); after ``patience`` epochs in a row without improvement the run
stops, and the weights of the last improving epoch are restored. Replayed on a run's history
(best trained with patience off, so it went on as long as it could), it says without retraining
which epoch a run with that patience would have stopped at and which weights it would have kept:
a run with the same seed and that patience stops there (tested).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nnstudio.core.reports import EpochReport


@dataclass(frozen=True)
class Replay:
    """What early stopping would have done on a history."""

    patience: int
    min_delta: float
    stop_epoch: int  # the last epoch trained
    restored_epoch: int  # whose weights it keeps (0: none improved)
    stopped_early: bool  # patience ran out (else the history ran out)
    beyond_history: bool  # the history ended before this patience would have stopped it
    epochs: int  # epochs in the history

    def describe(self, test_accuracy: Mapping[int, float] | None = None) -> str:
        restored = f"keeps the weights of epoch {self.restored_epoch}"
        accuracy = (test_accuracy or {}).get(self.restored_epoch)
        if accuracy is not None:
            restored += f" (test accuracy {accuracy:.2%})"
        if self.patience <= 0:
            return f"No early stopping: trains all {self.epochs} epochs, {restored}."
        epochs = "1 epoch" if self.patience == 1 else f"{self.patience} epochs"
        if self.stopped_early:
            saved = self.epochs - self.stop_epoch
            return (f"Patience {epochs}: stops after epoch {self.stop_epoch} "
                    f"({saved} of {self.epochs} epochs saved), {restored}.")
        return (f"Patience {epochs}: would still be training when this run ended (epoch {self.epochs}); "
                f"so far it {restored}.")


def replay_patience(history: Sequence[EpochReport], patience: int, min_delta: float = 0.0,
                    monitor: str = "val_loss") -> Replay:
    """Replay early stopping with ``patience`` (0: off) and ``min_delta`` on ``history``, watching
    ``monitor`` (``val_loss``, or ``val_accuracy`` with ``min_delta`` as a fraction), as the trainer does."""
    if patience < 0 or min_delta < 0 or not math.isfinite(min_delta):
        raise ValueError("patience and min delta must not be negative")
    if monitor not in ("val_loss", "val_accuracy"):
        raise ValueError("monitor must be val_loss or val_accuracy")
    best_loss, best_accuracy, best_epoch, waited = math.inf, 0.0, 0, 0
    for report in history:
        if monitor == "val_accuracy":
            improved = best_epoch == 0 or report.val_accuracy > best_accuracy + min_delta
        else:
            improved = report.val_loss < best_loss - min_delta
        if improved:
            best_loss, best_accuracy, best_epoch, waited = report.val_loss, report.val_accuracy, report.epoch, 0
        else:
            waited += 1
        if patience > 0 and waited >= patience:
            return Replay(patience, min_delta, report.epoch, best_epoch, True, False, len(history))
    last = history[-1].epoch if history else 0
    return Replay(patience, min_delta, last, best_epoch, False, patience > 0, len(history))


def patience_table(history: Sequence[EpochReport], patiences: Sequence[int] = (1, 2, 3, 5, 10, 20),
                   min_delta: float = 0.0, monitor: str = "val_loss") -> list[Replay]:
    """:func:`replay_patience` for each of ``patiences``: what patience 1, 5 or 20 would have cost."""
    return [replay_patience(history, p, min_delta, monitor) for p in patiences]
