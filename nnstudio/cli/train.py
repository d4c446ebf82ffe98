"""``nnstudio-train``: train an MLP on MNIST from the command line, without a window.

The defaults reproduce the seed project's experiment (784-128-64-10, ReLU, SGD with
learning rate 0.1, batch 64, early stopping with patience 5). A run writes
``model.npz``, ``history.csv`` and ``training_history.png`` into its ``--out`` folder.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nnstudio import __version__

if TYPE_CHECKING:
    from nnstudio.core.reports import BatchProgress, EpochReport

# NumPy and the core are imported inside the functions, after main() has taken over Ctrl+C and
# SIGTERM: a signal during those imports must be a request, not a traceback.

# Flags that override a field of the preset's TrainingConfig: flag dest -> config field.
OVERRIDES = {
    "hidden": "hidden", "activation": "activation", "lr": "learning_rate", "momentum": "momentum",
    "nesterov": "nesterov", "weight_decay": "weight_decay", "schedule": "schedule",
    "batch_size": "batch_size", "epochs": "max_epochs", "patience": "patience", "min_delta": "min_delta",
    "augment_shift": "augment_shift", "validation_size": "validation_size", "seed": "seed",
    "train_size": "train_size", "label_noise": "label_noise",
    "optimizer": "optimizer", "beta1": "beta1", "beta2": "beta2", "eps": "eps", "dropout": "dropout",
    "input_dropout": "input_dropout", "rotate": "augment_rotate", "scale": "augment_scale",
    "shear": "augment_shear", "noise": "augment_noise", "thickness": "augment_thickness", "monitor": "monitor",
}
# An adaptive optimiser chosen without --lr starts from this rate (SGD's 0.1 would blow Adam up).
ADAPTIVE_LEARNING_RATE = 0.001


def elastic_pair(text: str) -> tuple[float, float]:
    """Parse ``"34,4"`` into ``(alpha, sigma)``; a single number is alpha with sigma 4."""
    try:
        parts = tuple(float(p) for p in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not ALPHA,SIGMA, e.g. 34,4") from None
    if len(parts) == 1:
        parts = (parts[0], 4.0)
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not ALPHA,SIGMA, e.g. 34,4")
    return parts


def positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} repeats: give 1 to 1000")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    """Parse ``"128,64"`` into ``(128, 64)`` with the app's own parser (core/limits.py)."""
    from nnstudio.core.limits import parse_hidden

    sizes, reason = parse_hidden(text)
    if sizes is None:
        raise argparse.ArgumentTypeError(f"{text!r}: {reason}")
    return sizes


def out_folder(text: str) -> Path:
    """``--out``: a folder name; empty is refused rather than read as the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a folder name (an empty one would mean the current folder)")
    return Path(text).expanduser()
def thread_count(text: str) -> int:
    """Parse ``--threads``: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: threads must be a whole number, 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    from nnstudio.core.config import MONITORS, OPTIMIZERS, PRESET_DESCRIPTIONS, PRESETS, SCHEDULES
    from nnstudio.core.network import ACTIVATIONS

    presets = "\n".join(f"  {name:10} {text}" for name, text in PRESET_DESCRIPTIONS.items())
    parser = argparse.ArgumentParser(
        prog="nnstudio-train",
        description="Train a NumPy multilayer perceptron on MNIST.",
        epilog=f"presets:\n{presets}\n\nFlags given after a preset override its values.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--data-dir", type=Path, help="folder holding the four MNIST files (default: $NNSTUDIO_DATA, "
        "else the user cache, where MNIST is downloaded if missing)")
    add("--preset", choices=sorted(PRESETS), default="seed", help="a named configuration (default: seed)")
    add("--hidden", type=hidden_sizes, help="hidden layer sizes, e.g. 128,64")
    add("--activation", choices=ACTIVATIONS)
    add("--lr", type=float, help="learning rate (1e-5 to 10)")
    add("--momentum", type=float, help="momentum, 0 for plain SGD")
    add("--nesterov", action=argparse.BooleanOptionalAction, default=None, help="Nesterov momentum")
    add("--weight-decay", type=float, help="L2 weight decay")
    add("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    add("--batch-size", type=int)
    add("--epochs", type=int, help="maximum number of epochs")
    add("--patience", type=int, help="early-stopping patience in epochs; 0 turns early stopping off")
    add("--min-delta", type=float, help="smallest improvement of the monitored figure that counts (in its units)")
    add("--augment-shift", type=int, help="shift training images by up to this many pixels (0-4)")
    add("--validation-size", type=int, help="the last N training images validate (default 6000)")
    add("--seed", type=int, help="random seed: the same seed gives the same run")
    add("--optimizer", choices=OPTIMIZERS, help="sgd (default), adam, adamw or rmsprop; an adaptive one "
        f"without --lr starts at lr {ADAPTIVE_LEARNING_RATE:g}")
    add("--beta1", type=float, help="Adam's first-moment decay (default 0.9)")
    add("--beta2", type=float, help="Adam's second-moment decay, RMSprop's decay rate (default 0.999)")
    add("--eps", type=float, help="Adam's and RMSprop's epsilon (default 1e-8)")
    add("--dropout", type=float, help="inverted dropout rate on the hidden layers (0 to 0.9)")
    add("--input-dropout", type=float, help="inverted dropout rate on the input pixels (0 to 0.9)")
    add("--rotate", type=float, help="rotate training images by up to ±DEG degrees")
    add("--scale", type=float, help="scale training images by up to ±F, e.g. 0.1 for ±10%%")
    add("--shear", type=float, help="shear training images by up to ±DEG degrees")
    add("--elastic", type=elastic_pair, metavar="ALPHA,SIGMA",
        help="elastic distortion (Simard et al. 2003), e.g. 34,4; alpha 0 is off")
    add("--noise", type=float, help="Gaussian pixel noise of this standard deviation (pixels 0-1)")
    add("--thickness", type=float, help="make strokes up to PX steps thicker or thinner (0-3)")
    add("--monitor", choices=MONITORS, help="what early stopping watches: val_loss, or val_accuracy "
        "(the seed preset's); --min-delta is in its units")
    add("--repeat", type=positive_count, metavar="N", help="train seeds 0..N-1 in parallel processes and "
        "print mean ± sd (min-max) of the test accuracy")
    add("--threads", type=thread_count, help="threads to train on (default: the fastest of 1, 2, 4, ... "
        "up to the core count, measured on a few dozen batches before training)")
    add("--out", type=out_folder, help="output folder (default: runs/<timestamp>)")
    add("--overwrite", action="store_true", help="let --out replace the run already in that folder")
    add("--train-size", type=int, help="train on the first N training images only (0: all), to see overfitting")
    add("--label-noise", type=float, help="replace this share of training labels (0 to 0.5) by a wrong class, "
        "reproducibly from --seed")
    add("--sweep", action="append", metavar="SETTING=V1,V2", help="train every value (two --sweep: every "
        "pair) in parallel processes, e.g. lr=0.001,0.1 or hidden=64,128-64; writes sweep.csv and a run per point")
    add("--find-lr", action="store_true", help="run the learning-rate range test (three runs), print the "
        "suggested learning rate, write lr_finder.png and .csv into --out, train nothing")
    add("--quiet", action="store_true", help="no progress bar")
    add("--version", action="version", version=f"nnstudio {__version__}")
    return parser


def config_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The preset's config with every given flag applied; a bad value is a usage error (exit 2)."""
    from nnstudio.core.config import PRESETS

    changes = {field: getattr(args, flag) for flag, field in OVERRIDES.items() if getattr(args, flag) is not None}
    if args.elastic is not None:
        changes["elastic_alpha"], changes["elastic_sigma"] = args.elastic
    if (args.optimizer not in (None, "sgd") and args.lr is None
            and PRESETS[args.preset].optimizer == "sgd"):
        changes["learning_rate"] = ADAPTIVE_LEARNING_RATE
    try:
        return PRESETS[args.preset].replace(**changes)
    except ValueError as exc:
        parser.error(str(exc))


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
    trainer = Trainer(config, data, threads=choice.threads)
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
class _StopAll:
    """What :class:`Interrupt` stops during repeats: every worker, at its next batch."""

    result = None

    def __init__(self) -> None:
        import threading

        self.event = threading.Event()

    def request_stop(self) -> None:
        self.event.set()


def train_repeats(parser: argparse.ArgumentParser, args: argparse.Namespace, config, interrupt: Interrupt) -> int:
    """``--repeat N``: seeds 0..N-1 in parallel processes, each a run folder in one group folder."""
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.download import DownloadError
    from nnstudio.core.idx import DataError
    from nnstudio.core.mnist import load_mnist
    from nnstudio.core.repeats import run_repeats, summary_text, worker_count
    from nnstudio.core.run_folder import PLOT, load_run, new_run_folder
    from nnstudio.gui.history_png import write_history_png

    try:
        data_dir = ensure_data(args.data_dir)
        split_mnist(load_mnist(data_dir), config.validation_size)  # a bad folder fails here, once
    except (DataError, DownloadError, OSError) as exc:
        print(f"nnstudio-train: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        parser.error(str(exc))
    try:
        group = args.out if args.out is not None else new_run_folder("runs")
        group.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"cannot write into {args.out or 'runs/'}: {exc.strerror or exc}")
    workers = worker_count(args.repeat)
    print(f"nnstudio {__version__} · preset {args.preset} · {args.repeat} repeats (seeds 0-{args.repeat - 1})"
          f" in {workers} processes · {config.optimizer} lr {config.learning_rate:g}", flush=True)
    stop_all = _StopAll()
    interrupt.watch(stop_all)
    accuracies = []
    for r in run_repeats(config, data_dir, args.repeat, group, workers=workers, name=args.preset,
                         stop=stop_all.event):
        if r.error or r.test_accuracy is None:
            print(f"seed {r.seed}: {r.reason}: {r.error or 'no epoch finished'}", flush=True)
            continue
        accuracies.append(r.test_accuracy)
        try:
            write_history_png(Path(r.folder) / PLOT, load_run(r.folder).history,
                              title=f"nnstudio · {args.preset} · seed {r.seed}")
        except (OSError, ValueError):
            pass  # the run itself is saved; the picture is a convenience
        print(f"seed {r.seed}: test accuracy {r.test_accuracy:.4f} · best epoch {r.best_epoch} of {r.epochs}"
              f" · {r.seconds:.1f} s · {r.folder}", flush=True)
    if not accuracies:
        print("nnstudio-train: no repeat finished", file=sys.stderr)
        return 130 if interrupt.requested else 1
    print(f"wrote {group}/")
    print(f"test accuracy over {len(accuracies)} seeds: {summary_text(accuracies)}")
    return 130 if interrupt.requested else 0


def epoch_line(r: EpochReport) -> str:
    patience = "" if r.patience_left is None else f"  patience left {r.patience_left}"
    mark = " *" if r.improved else "  "
    return (f"epoch {r.epoch:3d}{mark} train loss {r.train_loss:.4f} acc {r.train_accuracy:.4f}"
            f" | val loss {r.val_loss:.4f} acc {r.val_accuracy:.4f} | lr {r.learning_rate:.3g}"
            f" | {r.seconds:.2f}s{patience}")


if __name__ == "__main__":
    sys.exit(main())
