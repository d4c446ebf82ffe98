"""What another thread may ask of a training run: stop, pause, resume, and live settings.

:class:`RunControls` is the part of :class:`~nnstudio.core.trainer.Trainer` that any thread may
call at any time. Requests are recorded under a lock or in events; the training thread takes
them between batches (``_pending`` holds the live settings until it does).
"""

from __future__ import annotations

import threading

from nnstudio.core.augment import Augmentation


class RunControls:
    """Stop, pause and live settings, safe to call from any thread; the trainer applies them."""

    def __init__(self) -> None:
        self._pending: dict[str, object] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self) -> None:
        """End the run at the next batch boundary, also when it is paused or has not begun yet."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        """Hold the run at the next batch boundary until :meth:`resume` (or a stop)."""
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def reset_controls(self) -> None:
        """Forget a stop or pause left over from the run that ended: call it before the next
        :meth:`run` is handed to a thread (a stop pressed while a run ends would end the next)."""
        self._stop.clear()
        self._running.set()

    def set_learning_rate(self, value: float) -> None:
        self._request("learning_rate", float(value))

    def set_momentum(self, value: float) -> None:
        self._request("momentum", float(value))

    def set_patience(self, value: int) -> None:
        self._request("patience", int(value))

    def set_dropout(self, value: float) -> None:
        self._request("dropout", float(value))

    def set_input_dropout(self, value: float) -> None:
        self._request("input_dropout", float(value))

    def set_augmentation(self, value: Augmentation) -> None:
        """New augmentation strengths from the next batch on (refused at once if out of range)."""
        problems = value.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self._request("augmentation", value)

    def set_diagnostics_every(self, every: int) -> None:
        """Measure the cheap diagnostics every ``every`` batches from the next batch on (0: per epoch only);
        the training thread reads this one int between batches, so it needs no queue."""
        self.step_meter.every = max(0, int(every))

    def _request(self, name: str, value: float) -> None:
        with self._lock:
            self._pending[name] = value
