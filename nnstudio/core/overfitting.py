"""Where a run overfits: the train-validation gap per epoch, and the epochs where validation loss
rises while training loss falls (the network learns its training images, not digits)."""

from __future__ import annotations

from collections.abc import Sequence

from nnstudio.core.reports import EpochReport


def loss_gap(history: Sequence[EpochReport]) -> list[float]:
    """Validation loss minus training loss, per epoch."""
    return [r.val_loss - r.train_loss for r in history]


def overfitting_epochs(history: Sequence[EpochReport]) -> list[int]:
    """The epochs (1-based, as in the history) whose validation loss rose and training loss fell
    since the epoch before."""
    return [now.epoch for before, now in zip(history, history[1:])
            if now.val_loss > before.val_loss and now.train_loss < before.train_loss]


def summary(history: Sequence[EpochReport]) -> str:
    """One line for the strip: the gap now and how many epochs overfitted."""
    if not history:
        return ""
    epochs = overfitting_epochs(history)
    gap = loss_gap(history)[-1]
    best = min(history, key=lambda r: r.val_loss)
    text = f"gap now {gap:+.3f} (validation − training loss); lowest validation loss at epoch {best.epoch}"
    if epochs:
        text += f"; {len(epochs)} epoch{'s' if len(epochs) != 1 else ''} where validation loss rose while " \
                "training loss fell (shaded)"
    return text
