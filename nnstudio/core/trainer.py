"""Mini-batch gradient descent with early stopping, as a generator a GUI can drive.

:meth:`Trainer.run` yields :class:`BatchProgress` (throttled), :class:`SettingChanged`,
:class:`EpochReport` and, last, a :class:`TrainingResult`. Another thread may call
:meth:`request_stop`, :meth:`pause`, :meth:`resume` and the ``set_*`` methods at any
time; they take effect between batches.

Each batch is one :class:`TrainStep` (forward, then a fused backward and update); the
trainer's ``threads`` share its elementwise work, while BLAS's threads are the caller's to
set to the same count (``threadpool_limits(trainer.threads)``: threadpoolctl is not core).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from nnstudio.core.augment import Augmentation, Augmenter
from nnstudio.core.prefetcher import Prefetcher, distortion_workers
from nnstudio.core.checkpoints import Checkpoints
from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.diagnostics import DiagnosticsProbe, StepMeter
from nnstudio.core.network import Network
from nnstudio.core.optim import make_optimizer
from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.core.resumable import Resumable
from nnstudio.core.run_controls import RunControls
from nnstudio.core.shifted_images import shifted_images  # noqa: F401  (imported from here too)
from nnstudio.core.train_step import TrainStep
from nnstudio.core.training_set import training_set_for

Event = BatchProgress | EpochReport | SettingChanged | TrainingResult
# A batch's mean cross-entropy above this means the weights have blown up: the fused,
# stable softmax keeps such a loss finite (a naive one would give inf or NaN), but the
# true class then gets a probability below e**-100. A healthy run starts near ln 10 = 2.3.
DIVERGED_LOSS = 100.0


def quiet_overflow() -> np.errstate:
    """Silence the overflow warnings of a diverging run (the loss check reports it instead).

    Entered around each batch, never across a ``yield``: the generator may be resumed in
    another thread, and NumPy's error state lives in a context variable.
    """
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


class Trainer(RunControls, Resumable):
    """Trains a :class:`Network` on a :class:`Split` under a :class:`TrainingConfig`.

    The trainer keeps its state between calls to :meth:`run`, so a finished run can be
    continued ("one more epoch"). When a run ends, for whatever reason, the network
    holds the weights of the epoch with the lowest validation loss (or, monitoring
    ``val_accuracy``, the highest validation accuracy).
    """

    def __init__(self, config: TrainingConfig, data: Split, *, network: Network | None = None,
                 progress_interval: float = 0.05, threads: int = 1, build: bool = True) -> None:
        self.config = config
        data = training_set_for(config, data)  # fewer images or noisy labels when the config asks
        self.data = data
        self.rng = np.random.default_rng(config.seed)
        sizes = network.sizes if network is not None else (data.inputs, *config.hidden, data.classes)
        if sizes[0] != data.inputs or sizes[-1] != data.classes:
            raise ValueError(f"network {tuple(sizes)} does not fit data of {data.inputs} inputs")
        self.sizes = tuple(sizes)
        # None until build(): the largest allowed network takes seconds to draw and copy, which a
        # GUI does on its worker thread (run() builds it first when nobody did).
        self.network: Network | None = network
        self.progress_interval = progress_interval
        self.threads = max(1, int(threads))  # for the step's elementwise work; saved with the run
        self._engine: TrainStep | None = None  # the fused step, alive while a run is
        self.history: list[EpochReport] = []
        self.result: TrainingResult | None = None
        self.checkpoints = Checkpoints()  # every epoch's weights (thinned evenly past 64 or 256 MB)
        # Live settings: written by any thread, read between batches.
        self.learning_rate = config.learning_rate
        self.momentum = config.momentum
        self.patience = config.patience
        self.setting_changes: list[SettingChanged] = []  # every live change applied, for the run folder
        RunControls.__init__(self)
        # Early-stopping state.
        self._best_params: list[np.ndarray] = []  # the best epoch's parameters, once built
        self._best_epoch = 0
        self._best_val_loss = math.inf
        self._best_val_accuracy = 0.0
        self._epochs_without_improvement = 0
        self._best_optimizer_state: dict[str, np.ndarray] = {}  # the optimiser's state at the best epoch
        self._seconds = 0.0  # training time of all runs so far, pauses excluded
        self._paused_seconds = 0.0
        self._pixels: np.ndarray | None = None  # reused batch buffers
        self.diagnostics: DiagnosticsProbe | None = None  # made by build(); None after it turns it off
        self.step_meter = StepMeter(config.diagnostics_every)  # diagnostics every N batches (0: none)
        self._built = False
        # The second edition's options. SGD runs fused in the step; the others through optim.
        self.optimizer = None if config.optimizer == "sgd" else make_optimizer(config)
        self.dropout = config.dropout  # live, as the learning rate
        self.input_dropout = config.input_dropout
        self.augmentation = config.augmentation()  # live: set_augmentation
        # Their own random streams, so a run without them draws exactly what it did before.
        self._dropout_rng = np.random.default_rng([config.seed, 1])
        self._augmenter: Augmenter | None = None
        self._prefetch: Prefetcher | None = None
        self._scratch: dict = {}  # the validation pass's arrays, kept from epoch to epoch
        self.prefetch: bool | int = True  # distort ahead on helper processes (True: as many as the
        # cores leave, distortion_workers; an int: that many; False or 0: in line)
        if build:
            self.build()

    def build(self) -> None:
        """Draw the initial weights (unless given) and what depends on them; :meth:`run` calls it.

        Seconds and gigabytes for the largest networks allowed: a GUI passes ``build=False`` and
        lets its training thread build."""
        if self._built:
            return
        if self.network is None:
            self.network = Network(self.sizes, self.config.activation, seed=self.rng)
        self._best_params = self.network.copy_parameters()
        self.diagnostics = DiagnosticsProbe.from_split(self.network, self.data)
        self._built = True

    # -- the algorithm's steps -------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """Epochs completed so far."""
        return len(self.history)

    def scheduled_learning_rate(self, epoch: int) -> float:
        """The learning rate of 1-based ``epoch`` under the schedule, from the current base rate."""
        c = self.config
        if c.schedule == "step":
            return self.learning_rate * c.step_gamma ** ((epoch - 1) // c.step_epochs)
        if c.schedule == "cosine":
            t = min((epoch - 1) / c.max_epochs, 1.0)
            return self.learning_rate * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))
        return self.learning_rate

    def run(self, max_epochs: int | None = None) -> Iterator[Event]:
        """Train up to ``max_epochs`` more epochs (default: the config's), yielding events.

        A second call continues the same run from the best weights, as "one more epoch"
        does; an early stop that ended the previous call does not end the new one at once.
        """
        self.build()
        self.result = None
        if self._patience_exhausted():
            self._epochs_without_improvement = 0
        if max_epochs is None:
            epochs = self.config.max_epochs
            finished = f"reached the maximum of {self.epoch + epochs} epochs"
        else:
            epochs = max_epochs
            finished = f"trained {epochs} more epoch{'s' if epochs != 1 else ''}"
        return self._run(epochs, finished)

    def _run(self, epochs: int, finished: str) -> Iterator[Event]:
        started = time.perf_counter()
        paused_before = self._paused_seconds
        reason, message = "max_epochs", finished
        self._engine = TrainStep(self.network, self.config.batch_size, threads=self.threads)
        self._engine.optimizer = self.optimizer
        self._engine.dropout, self._engine.input_dropout = self.dropout, self.input_dropout
        self._engine.rng = self._dropout_rng
        self._load_optimizer_state(self._best_optimizer_state)  # a continued run goes on as if never stopped
        try:
            for _ in range(epochs):
                outcome = yield from self._train_epoch()
                if outcome is not None:
                    reason, message = outcome
                    break
                if self._patience_exhausted():
                    reason = "early_stopping"
                    epochs_text = "1 epoch" if self.patience == 1 else f"{self.patience} epochs"
                    watched = "accuracy" if self.config.monitor == "val_accuracy" else "loss"
                    message = f"early stopping: no improvement in validation {watched} for {epochs_text}"
                    break
        finally:  # also when the generator is closed early: no helper outlives the run
            self._engine.close()
            self._engine = None
            if self._prefetch is not None:
                self._prefetch.close()
                self._prefetch = None
            if self.optimizer is not None:  # moments built on other weights would throw these off
                self.optimizer.reset()
        self._seconds += time.perf_counter() - started - (self._paused_seconds - paused_before)
        self._stop.clear()  # a stop ends this run only; the next run starts afresh
        self._running.set()
        self.network.set_parameters(self._best_params)  # a next run goes on from these, with their optimiser state
        test_loss = test_accuracy = None
        if len(self.data.x_test):
            test_loss, test_accuracy = self.network.evaluate(self.data.x_test, self.data.y_test)
        self.result = TrainingResult(
            reason=reason, message=message, epochs=self.epoch, best_epoch=self._best_epoch,
            best_val_loss=self._best_val_loss, best_val_accuracy=self._best_val_accuracy,
            test_loss=test_loss, test_accuracy=test_accuracy, seconds=self._seconds,
            history=tuple(self.history),
        )
        yield self.result

    def _train_epoch(self) -> Iterator[Event]:
        """One pass over the shuffled training set; returns ``(reason, message)`` if the run must end."""
        epoch = self.epoch + 1
        data, net = self.data, self.network
        n = len(data.x_train)
        size = self.config.batch_size
        batches = math.ceil(n / size)
        order = self.rng.permutation(n)
        labels = data.y_train[order]  # the epoch's labels in batch order: each batch's is a slice
        losses = np.empty(batches)
        sums = [0.0, 0]  # the loss summed over images, and the images classified right
        learning_rate = self.scheduled_learning_rate(epoch)
        epoch_started = last_report = time.perf_counter()
        reported = b = 0
        paused_at_start = self._paused_seconds
        while b < batches:
            if self._stop.is_set() or not self._running.is_set():
                self._wait_while_paused()
                if self._stop.is_set():
                    return "stopped", f"stopped at epoch {epoch}, batch {b + 1}"
            if self._pending:
                for change in self._apply_pending(epoch, b, batches):
                    yield change
                learning_rate = self.scheduled_learning_rate(epoch)
            with quiet_overflow():  # a diverging run overflows; the loss check below reports it
                b, loss = self._train_batches(order, labels, b, learning_rate, losses, sums,
                                              last_report + self.progress_interval)
            if not loss < DIVERGED_LOSS:  # also catches NaN
                # The losses up to the blow-up (and its own, when finite), so a watcher can draw them.
                end = b + 1 if math.isfinite(loss) else b
                losses[b] = loss
                if end > reported:
                    yield BatchProgress(epoch, end, batches, reported, losses[reported:end].copy(),
                                        time.perf_counter() - epoch_started - (self._paused_seconds - paused_at_start),
                                        self.step_meter.take())
                return "diverged", f"diverged at epoch {epoch}, batch {b + 1}: lower the learning rate"
            now = time.perf_counter()
            if now - last_report >= self.progress_interval:
                yield BatchProgress(epoch, b, batches, reported, losses[reported:b].copy(),
                                    now - epoch_started - (self._paused_seconds - paused_at_start),
                                    self.step_meter.take())
                reported, last_report = b, now
        if reported < batches:
            yield BatchProgress(epoch, batches, batches, reported, losses[reported:].copy(),
                                time.perf_counter() - epoch_started - (self._paused_seconds - paused_at_start),
                                self.step_meter.take())
        total_loss, correct = sums
        with quiet_overflow():
            val_loss, val_accuracy = net.evaluate(data.x_val, data.y_val, scratch=self._scratch)
        if not val_loss < DIVERGED_LOSS:
            return "diverged", f"diverged at epoch {epoch}, batch {batches}: lower the learning rate"
        improved = self._improves(val_loss, val_accuracy)
        if improved:
            self._best_val_loss, self._best_val_accuracy, self._best_epoch = val_loss, val_accuracy, epoch
            self._best_params = net.copy_parameters()
            self._best_optimizer_state = self._optimizer_state()
            self._epochs_without_improvement = 0
        else:
            self._epochs_without_improvement += 1
        report = EpochReport(
            epoch=epoch, train_loss=total_loss / n, train_accuracy=correct / n,
            val_loss=val_loss, val_accuracy=val_accuracy, learning_rate=learning_rate,
            seconds=time.perf_counter() - epoch_started - (self._paused_seconds - paused_at_start),
            best_epoch=self._best_epoch, best_val_loss=self._best_val_loss,
            best_val_accuracy=self._best_val_accuracy, patience_left=self.patience_left, improved=improved,
            diagnostics=self.diagnostics and self.diagnostics.at_epoch_end(
                net, learning_rate, self.config.weight_decay, time.perf_counter() - epoch_started),
        )
        self.history.append(report)
        self.checkpoints.add(epoch, net.parameters(), best=improved)
        yield report
        return None

    def _improves(self, val_loss: float, val_accuracy: float) -> bool:
        """Whether this epoch beats the best so far by more than ``min_delta`` in the monitor's units."""
        if self.config.monitor == "val_accuracy":
            return self._best_epoch == 0 or val_accuracy > self._best_val_accuracy + self.config.min_delta
        return val_loss < self._best_val_loss - self.config.min_delta

    def _wait_while_paused(self) -> None:
        wait_started = time.perf_counter()
        while not self._running.wait(0.1):
            if self._stop.is_set():
                break
        self._paused_seconds += time.perf_counter() - wait_started

    @property
    def patience_left(self) -> int | None:
        """Epochs without improvement still allowed; None when early stopping is off."""
        if self.patience <= 0:
            return None
        return max(self.patience - self._epochs_without_improvement, 0)

    def _patience_exhausted(self) -> bool:
        return self.patience > 0 and self._epochs_without_improvement >= self.patience

    def _apply_pending(self, epoch: int, batch: int, batches: int) -> list[SettingChanged]:
        with self._lock:
            pending, self._pending = self._pending, {}
        changes = []
        for name, value in pending.items():
            old = getattr(self, name)
            if name == "augmentation":
                self.augmentation = value
                changes.extend(SettingChanged(epoch, batch, batches, f"augment {field}", getattr(old, field),
                                              getattr(value, field)) for field in Augmentation.__dataclass_fields__
                               if getattr(old, field) != getattr(value, field))
                if self._augmenter is not None:
                    self._augmenter.settings = value
                continue
            if value != old:
                setattr(self, name, value)
                if name == "momentum" and value == 0:
                    self._engine.reset_velocities()
                if name == "momentum" and hasattr(self.optimizer, "momentum"):  # RMSprop's, live as SGD's
                    self.optimizer.momentum = value
                if name in ("dropout", "input_dropout"):
                    setattr(self._engine, name, value)
                changes.append(SettingChanged(epoch, batch, batches, name, old, value))
        self.setting_changes.extend(changes)
        return changes

    def _train_batches(self, order: np.ndarray, labels: np.ndarray, b: int, learning_rate: float,
                       losses: np.ndarray, sums: list, deadline: float) -> tuple[int, float]:
        """Train batch ``b`` and the next ones until the epoch ends, a report is due (``deadline``),
        or a stop, pause or setting change waits; returns the next batch and the last batch's loss
        (when it is not below ``DIVERGED_LOSS``, batch ``b`` diverged and was not stepped)."""
        engine, size, batches = self._engine, self.config.batch_size, len(losses)
        meter = self.step_meter
        stop, running, clock = self._stop, self._running, time.perf_counter
        self._plain_inputs = not self.augmentation.active
        total_loss, correct, loss = sums[0], sums[1], 0.0
        while b < batches:
            index = order[b * size:(b + 1) * size]
            loss, hits = engine.forward(self._batch_inputs(index, order, b), labels[b * size:(b + 1) * size])
            if not loss < DIVERGED_LOSS:
                break
            measured = meter.due(b)
            if measured:
                meter.before(self.network)
            engine.backward(learning_rate, self.momentum, self.config.nesterov, self.config.weight_decay)
            if measured:
                meter.after(self.network, self.epoch + 1, b + 1, batches, learning_rate,
                            plain_sgd=self.optimizer is None and self.momentum == 0)
            losses[b] = loss
            total_loss += loss * len(index)
            correct += hits
            b += 1
            if clock() >= deadline or stop.is_set() or not running.is_set() or self._pending:
                break
        sums[0], sums[1] = total_loss, correct
        return b, loss

    def _pixel_rows(self, n: int) -> np.ndarray:
        if self._pixels is None or len(self._pixels) < n:
            self._pixels = np.empty((n, self.data.inputs), np.uint8)
        return self._pixels[:n]

    def _batch_inputs(self, index: np.ndarray, order: np.ndarray, b: int) -> np.ndarray:
        """Batch ``b`` of the epoch (its rows ``index`` of ``order``) as the step's input: randomly
        shifted or distorted when augmenting, else the pixels as they are."""
        if self._plain_inputs:  # the hot path: gather (an epoch's order holds no index out of range), then cast
            pixels = self.data.x_train.take(index, axis=0, out=self._pixel_rows(len(index)), mode="clip")
            return self._engine.input_pixels(pixels)
        augmentation = self.augmentation
        if augmentation.active and augmentation != Augmentation(shift=augmentation.shift):
            return self._augmented(order, b)
        rows = self._engine.input_rows(len(index))
        shift = int(augmentation.shift)
        if shift:
            pixels = shifted_images(self.data.x_train[index], self.data.image_shape, shift, self.rng)
        else:
            pixels = np.take(self.data.x_train, index, axis=0, out=self._pixel_rows(len(index)))
        return np.multiply(pixels, self.network.dtype.type(1 / 255), out=rows)

    def _augmented(self, order: np.ndarray, b: int) -> np.ndarray:
        """The batch distorted by the augmenter, which works ahead in chunks on helper processes."""
        if self._augmenter is None:
            self._augmenter = Augmenter(self.augmentation, self.data.image_shape,
                                        seed=np.random.default_rng([self.config.seed, 2]))
        if self._prefetch is None:
            self._prefetch = Prefetcher(self._augmenter, self.data.x_train,
                                        workers=distortion_workers(self.threads) if self.prefetch is True
                                        else int(self.prefetch))
        # Distorted pixels (uint8) as they lie in the prefetcher's chunk, cast as a plain batch's are.
        return self._engine.input_pixels(self._prefetch.batch(self.epoch + 1, order, b, self.config.batch_size))
