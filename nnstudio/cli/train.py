"""``nnstudio-train``: train an MLP on MNIST from the command line, without a window.

The defaults reproduce the seed project's experiment (784-128-64-10, ReLU, SGD with
learning rate 0.1, batch 64, early stopping with patience 5). A run writes
``model.npz``, ``history.csv`` and ``training_history.png`` into its ``--out`` folder.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nnstudio import __version__
from nnstudio.cli.train_flags import build_parser, config_from_args

if TYPE_CHECKING:
    from nnstudio.core.reports import BatchProgress, EpochReport

# NumPy and the core are imported inside the functions, after main() has taken over Ctrl+C and
# SIGTERM: a signal during those imports must be a request, not a traceback.

class ProgressBar:
    """A one-line progress bar with ETA on a terminal; silent when output is not a terminal."""

    def __init__(self, stream, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.shown = False

    def show(self, progress: BatchProgress, max_epochs: int, epoch_seconds: list[float]) -> None:
        if not self.enabled:
            return
        rate = progress.seconds / max(progress.batch, 1)
        eta_epoch = rate * (progress.batches - progress.batch)
        width = 30
        filled = int(width * progress.fraction)
        bar = "#" * filled + "." * (width - filled)
        mean_epoch = sum(epoch_seconds) / len(epoch_seconds) if epoch_seconds else rate * progress.batches
        eta_all = eta_epoch + mean_epoch * (max_epochs - progress.epoch)
        self.stream.write(f"\r  epoch {progress.epoch:3d} [{bar}] {progress.batch}/{progress.batches}"
                          f"  ETA {eta_epoch:4.1f}s (run at most {format_seconds(eta_all)})  ")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()
            self.shown = False


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def ensure_data(data_dir: Path | None, cancel: threading.Event | None = None) -> Path:
    """The data folder to use, downloading MNIST into the default place when there is none."""
    from nnstudio.core.download import download_mnist
    from nnstudio.core.mnist import has_mnist, resolve_data_dir

    folder = resolve_data_dir(data_dir)
    if has_mnist(folder) or data_dir is not None:
        return folder  # an explicit folder without MNIST: load_mnist says what is missing
    print(f"MNIST not found; downloading it into {folder}", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if total and sys.stderr.isatty():
            sys.stderr.write(f"\r  {done / 1e6:5.1f} / {total / 1e6:.1f} MB")
            sys.stderr.flush()

    download_mnist(folder, progress=progress, cancel=cancel)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return folder


def say(text: str) -> None:
    """Write to stderr from a signal handler: straight to the descriptor, so it can never clash
    with a write the interrupted code was making."""
    try:
        os.write(sys.stderr.fileno(), text.encode())
    except (OSError, ValueError, AttributeError):  # stderr replaced by an object without a descriptor
        try:
            print(text, end="", file=sys.stderr)
        except RuntimeError:
            pass


class Interrupt:
    """Ctrl+C (and SIGTERM, the same) as a request rather than an exception, so it never lands
    inside an import or a file write: before training it cancels the start (a download included)
    at the next safe point; during training it ends the run after the current batch, keeping the
    best weights. A second one quits at once: what was being written is removed, not left half done."""

    def __init__(self) -> None:
        self.requested = False
        self.trainer = None
        self.cancel = threading.Event()  # stops a download within a second

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.cancel.set()
        if self.trainer is not None and self.trainer.result is None:
            say("\nstopping: the best weights so far will be saved (press Ctrl+C again to quit at once)\n")
            self.trainer.request_stop()
        elif self.trainer is None:
            say("\ninterrupted: stopping (press Ctrl+C again to quit at once)\n")

    def watch(self, trainer) -> None:
        """From now on Ctrl+C stops ``trainer``; one pressed just before stops it at once."""
        self.trainer = trainer
        if self.requested:
            trainer.request_stop()


SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    interrupt = Interrupt()
    previous = {sig: signal.signal(sig, interrupt) for sig in SIGNALS}
    try:
        return train(argv, interrupt)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train(argv: list[str] | None, interrupt: Interrupt) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from_args(parser, args)
    if args.repeat and args.repeat > 1:
        from nnstudio.cli.repeat import train_repeats

        return train_repeats(parser, args, config, interrupt)
    if args.sweep:
        from nnstudio.cli.sweep import train_sweep

        return train_sweep(parser, args, config, interrupt)
    from nnstudio.core.checkpoints import CHECKPOINTS
    from nnstudio.core.run_folder import HISTORY, MODEL, PLOT, new_run_folder

    out = args.out
    if out is not None and not args.overwrite:
        taken = [name for name in (MODEL, HISTORY, PLOT, CHECKPOINTS) if os.path.lexists(out / name)]
        if taken:
            parser.error(f"{out} already holds a run ({', '.join(taken)}): choose another --out, "
                         f"or add --overwrite to replace it")
    root = Path("runs") if out is None else out
    made = [p for p in (root, *root.parents) if not os.path.lexists(p)]  # folders this run creates
    try:  # before training, so a bad --out never costs a trained model
        if out is None:
            out = new_run_folder("runs")
            made.insert(0, out)
        else:
            out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"cannot write into {out or 'runs/'}: {exc.strerror or exc}")
    written: list[Path] = []

    def give_up(message: str, code: int) -> int:
        for path in written:  # a run cut short while saving: its folder is ours, its files half a run
            path.unlink(missing_ok=True)
        for folder in made:  # leave no empty run folder (nor an empty runs/) behind
            try:
                folder.rmdir()
            except OSError:
                break
        if message:
            print(f"nnstudio-train: {message}", file=sys.stderr)
        return code

    try:
        return train_into(parser, args, config, out, interrupt, give_up, written if made else [])
    except KeyboardInterrupt:  # a second Ctrl+C: quit now
        return give_up("interrupted", 130)


def train_into(parser, args, config, out: Path, interrupt: Interrupt, give_up, written: list[Path]) -> int:
    from nnstudio.core.capacity import capacity_problems
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.download import DownloadCancelled, DownloadError
    from nnstudio.core.idx import DataError
    from nnstudio.core.mnist import load_mnist
    from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
    from nnstudio.core.checkpoints import CHECKPOINTS
    from nnstudio.core.run_folder import HISTORY, MODEL, PLOT, save_run
    from nnstudio.core.trainer import Trainer
    from nnstudio.gui.history_png import write_history_png  # loads Qt now, not after training
    from threadpoolctl import threadpool_limits

    try:
        mnist = load_mnist(ensure_data(args.data_dir, interrupt.cancel))
    except DataError as exc:
        hint = "" if args.data_dir is None else " (leave out --data-dir to download MNIST into the cache folder)"
        return give_up(f"error: {exc}{hint}", 1)
    except DownloadCancelled:
        return give_up("interrupted: download cancelled, nothing kept", 130)
    except (DownloadError, OSError) as exc:
        return give_up(f"error: {exc}", 1)
    try:
        data = split_mnist(mnist, config.validation_size)
    except ValueError as exc:
        give_up("", 2)
        parser.error(str(exc))
    problems = capacity_problems(config.hidden, config.batch_size, inputs=data.inputs, outputs=data.classes)
    if problems:
        give_up("", 2)
        parser.error("; ".join(problems))
    if interrupt.requested:
        return give_up("interrupted before training", 130)
    if args.find_lr:
        from nnstudio.cli.find_lr import run_find_lr

        with threadpool_limits(limits=1):
            code = run_find_lr(config, data, out, title=f"nnstudio · {args.preset}", interrupt=interrupt)
        return code if code == 0 else give_up("", code)

    from nnstudio.core.thread_choice import ThreadChoice, choose_threads

    choice = ThreadChoice(args.threads, "set") if args.threads else \
        choose_threads(config, data, lambda n: threadpool_limits(limits=n))
    trainer = Trainer(config, data, threads=choice.threads, build=False)  # built by run(), on the training thread
    interrupt.watch(trainer)
    print(f"nnstudio {__version__} · preset {args.preset} · {'-'.join(map(str, (data.inputs, *config.hidden, 10)))}"
          f" {config.activation} · lr {config.learning_rate:g} · momentum {config.momentum:g}"
          f" · batch {config.batch_size} · patience {config.patience or 'off'}"
          f" · {len(data.x_train)} train / {len(data.x_val)} validation images", flush=True)
    print(f"threads: {choice.describe()}", flush=True)
    if trainer.data is not data:  # --train-size or --label-noise
        from nnstudio.core.training_set import describe

        print(f"  trains on {describe(config)}", flush=True)
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    epoch_seconds: list[float] = []
    started = time.perf_counter()
    result = None
    for event in events_of(trainer):
        if isinstance(event, BatchProgress):
            bar.show(event, config.max_epochs, epoch_seconds)
        elif isinstance(event, EpochReport):
            bar.clear()
            epoch_seconds.append(event.seconds)
            print(epoch_line(event), flush=True)
        elif isinstance(event, SettingChanged):
            print(f"  {event.name} {event.old:g} -> {event.new:g}")
        elif isinstance(event, TrainingResult):
            bar.clear()
            result = event
    wall = time.perf_counter() - started
    if result.epochs == 0:  # the weights are still the random ones: nothing worth a model file
        return give_up(f"{result.message}: no epoch finished, nothing saved", 130 if interrupt.requested else 1)
    written += [out / MODEL, out / HISTORY, out / PLOT, out / CHECKPOINTS]
    try:
        save_run(out, trainer, name=f"{args.preset} lr={config.learning_rate:g}")
        write_history_png(out / PLOT, trainer.history, title=f"nnstudio · {args.preset}")
    except (OSError, ValueError) as exc:
        written.clear()  # what was saved stays: a failed plot must not cost the model
        return give_up(f"error: could not save the run into {out}: {exc}", 1)
    written.clear()
    print(f"{result.message} · best epoch {result.best_epoch} · validation accuracy "
          f"{result.best_val_accuracy:.4f} · {result.seconds:.1f} s training, {wall:.1f} s in all")
    print(f"wrote {out}/")
    print(f"test accuracy: {result.test_accuracy:.4f}")
    return 0 if result.reason != "diverged" else 1


_END = object()


def events_of(trainer):
    """The trainer's events, from a worker thread: the main thread stays free to take Ctrl+C and
    say so at once, even in a batch that computes for minutes."""
    from threadpoolctl import threadpool_limits

    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            with threadpool_limits(limits=trainer.threads):  # BLAS on as many threads as the step: see README
                for event in trainer.run():
                    events.put(event)
        except BaseException as exc:  # handed to the main thread, raised there
            events.put(exc)
        finally:
            events.put(_END)

    worker = threading.Thread(target=work, name="nnstudio-train", daemon=True)
    worker.start()
    while True:
        try:
            event = events.get(timeout=0.2)
        except queue.Empty:
            continue
        if event is _END:
            break
        if isinstance(event, BaseException):
            raise event
        yield event
    worker.join()
def epoch_line(r: EpochReport) -> str:
    patience = "" if r.patience_left is None else f"  patience left {r.patience_left}"
    mark = " *" if r.improved else "  "
    return (f"epoch {r.epoch:3d}{mark} train loss {r.train_loss:.4f} acc {r.train_accuracy:.4f}"
            f" | val loss {r.val_loss:.4f} acc {r.val_accuracy:.4f} | lr {r.learning_rate:.3g}"
            f" | {r.seconds:.2f}s{patience}")


if __name__ == "__main__":
    sys.exit(main())
