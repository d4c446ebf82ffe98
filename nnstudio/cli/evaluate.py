"""``nnstudio-evaluate``: what a model gets right and wrong, from the command line.

    nnstudio-evaluate [--model FILE_OR_RUN] [--data-dir DIR] [--set test|val] [--epoch N] [--out DIR]

Prints the confusion matrix, precision, recall and F1 per digit and the ten most confident
mistakes, then, as its last line, ``test accuracy: 0.XXXX`` (``val accuracy`` with ``--set val``).
With ``--out`` it also writes ``confusion.csv``, ``per_digit.csv``, ``mistakes.png`` and
``robustness.csv`` there. The exit status is 0 on success and 2 for a usage error: a model,
data folder, epoch or output folder that cannot be used, each with a message saying why.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from nnstudio import __version__

MISTAKES_SHOWN = 10
GALLERY_SIZE = 100  # mistakes in mistakes.png
DEFAULT_VALIDATION_SIZE = 6000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnstudio-evaluate",
        description="Evaluate an nnstudio model on MNIST: confusion matrix, per-digit figures, "
                    "the most confident mistakes and robustness to noise, rotation, shift and stroke thickness.",
        epilog="Exit status: 0 done, 2 usage error (unusable model, data, epoch or output folder).",
    )
    add = parser.add_argument
    add("--model", type=Path, metavar="FILE_OR_RUN",
        help="an nnstudio model file (.npz) or a run folder; default: the model bundled with nnstudio")
    add("--data-dir", type=Path, metavar="DIR",
        help="folder holding the four MNIST files (default: $NNSTUDIO_DATA, else the user cache)")
    add("--set", choices=("test", "val"), default="test", dest="which",
        help="the 10,000 test images (default) or the run's validation images")
    add("--epoch", type=int, metavar="N", help="evaluate epoch N's weights from the run's checkpoints.npz")
    add("--out", type=Path, metavar="DIR",
        help="also write confusion.csv, per_digit.csv, mistakes.png and robustness.csv into DIR")
    add("--version", action="version", version=f"nnstudio {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    network, model_text, metadata = load_network(parser, args.model, args.epoch)
    if args.out is not None:
        prepare_out(parser, args.out)
    images, labels, data_text = load_images(parser, args.data_dir, args.which, metadata)

    from nnstudio.core.evaluation import evaluate

    with threadpool_limits(limits=1):  # two BLAS threads on two cores lose to one: see README
        result = evaluate(network, images, labels)
        curves = robustness(network, images, labels) if args.out is not None else None
    print(f"model: {model_text}")
    print(f"data: {data_text}")
    print(f"loss: {result.loss:.4f}")
    print()
    print(confusion_table(result.confusion))
    print()
    print(per_digit_table(result.per_digit()))
    print()
    print(mistakes_table(result))
    if args.out is not None:
        written = write_outputs(parser, args.out, result, images, curves)
        print()
        for path in written:
            print(f"wrote {path}")
    print()
    print(f"{args.which} accuracy: {result.accuracy:.4f}")
    return 0


# -- input ------------------------------------------------------------------------------------

def load_network(parser: argparse.ArgumentParser, model: Path | None, epoch: int | None):
    """The network to evaluate, a line describing it, and the model file's metadata."""
    from nnstudio.core.checkpoints import CHECKPOINTS, load_checkpoints
    from nnstudio.core.model_file import ModelFileError, load_model
    from nnstudio.resources import BUNDLED_MODEL

    path = model or BUNDLED_MODEL
    if path.is_dir():  # a run folder, as nnstudio-train --out writes it
        if not (path / "model.npz").is_file():
            parser.error(f"{path} is a folder without model.npz: not a run folder")
        path = path / "model.npz"
    try:
        saved = load_model(path)
    except ModelFileError as exc:
        parser.error(f"cannot use the model: {exc}")
    network, text = saved.network, str(path)
    if epoch is not None:
        checkpoints_path = path.parent / CHECKPOINTS
        if not checkpoints_path.is_file():
            parser.error(f"--epoch needs a run folder with {CHECKPOINTS}; there is none beside {path}")
        try:
            kept = load_checkpoints(checkpoints_path)
        except ModelFileError as exc:
            parser.error(f"cannot use the checkpoints: {exc}")
        epochs = kept.checkpoints.epochs
        if epoch not in epochs:
            parser.error(f"epoch {epoch} is not among the checkpoints of {path.parent} (kept: {epoch_list(epochs)})")
        network = kept.network(epoch)
        text = f"{path.parent}, epoch {epoch}"
    if network.sizes[0] != 28 * 28 or network.sizes[-1] != 10:
        parser.error(f"{path} is not a digit classifier (784 inputs, 10 outputs)")
    sizes = "-".join(str(s) for s in network.sizes)
    return network, f"{text} ({sizes}, {network.activation})", saved.metadata


def epoch_list(epochs: list[int]) -> str:
    return ", ".join(map(str, epochs)) if len(epochs) <= 12 else f"{epochs[0]} to {epochs[-1]}, {len(epochs)} in all"


def load_images(parser: argparse.ArgumentParser, data_dir: Path | None, which: str, metadata: dict):
    """The chosen set's pixels and labels, and a line saying what they are."""
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.idx import DataError
    from nnstudio.core.mnist import has_mnist, load_mnist, resolve_data_dir

    folder = resolve_data_dir(data_dir)
    if not folder.is_dir():
        parser.error(f"no MNIST in {folder}: the folder does not exist (give --data-dir, "
                     f"or run nnstudio-train once to download MNIST)")
    if not has_mnist(folder):
        parser.error(f"no MNIST in {folder}: it lacks the four MNIST files (give --data-dir, "
                     f"or run nnstudio-train once to download MNIST)")
    try:
        mnist = load_mnist(folder)
    except (DataError, OSError) as exc:
        parser.error(f"cannot use the data: {exc}")
    config = metadata.get("config") if isinstance(metadata.get("config"), dict) else {}
    validation_size = config.get("validation_size", DEFAULT_VALIDATION_SIZE)
    if not isinstance(validation_size, int) or isinstance(validation_size, bool):
        validation_size = DEFAULT_VALIDATION_SIZE
    try:
        split = split_mnist(mnist, validation_size)
    except ValueError as exc:
        parser.error(f"cannot split the data: {exc}")
    if split.image_shape != (28, 28):
        parser.error(f"{folder} holds {split.image_shape[0]}x{split.image_shape[1]} images; the model reads 28x28")
    if which == "test":
        return split.x_test, split.y_test, f"{folder}, test set, {len(split.y_test):,} images"
    return split.x_val, split.y_val, (f"{folder}, validation set (the last {len(split.y_val):,} "
                                      f"training images), {len(split.y_val):,} images")


def prepare_out(parser: argparse.ArgumentParser, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"cannot write into {out}: {exc.strerror or exc}")


# -- figures ----------------------------------------------------------------------------------

def robustness(network, images: np.ndarray, labels: np.ndarray) -> dict:
    from nnstudio.core.robustness import all_curves, fixed_subset

    subset = fixed_subset(len(labels))
    run = all_curves(network, images[subset], labels[subset])
    while True:
        try:
            next(run)
        except StopIteration as done:
            return done.value


def confusion_table(confusion: np.ndarray) -> str:
    width = max(5, len(str(int(confusion.max()))) + 1)
    lines = ["confusion matrix (rows: true digit, columns: predicted digit)",
             "true\\pred" + "".join(f"{d:>{width}}" for d in range(confusion.shape[1]))]
    for t, row in enumerate(confusion):
        lines.append(f"{t:>9}" + "".join(f"{int(c):>{width}}" for c in row))
    return "\n".join(lines)


def per_digit_table(per_digit) -> str:
    lines = ["digit  precision  recall      f1  images"]
    for d in range(len(per_digit.support)):
        lines.append(f"{d:>5}  {per_digit.precision[d]:>9.4f}  {per_digit.recall[d]:>6.4f}  "
                     f"{per_digit.f1[d]:>6.4f}  {int(per_digit.support[d]):>6}")
    return "\n".join(lines)


def mistakes_table(result) -> str:
    mistakes = result.mistakes()
    shown = mistakes[:MISTAKES_SHOWN]
    lines = [f"most confident mistakes ({len(shown)} of {len(mistakes)})",
             "image  true  predicted  confidence  top-3"]
    for i in shown:
        top = ", ".join(f"{c} {p:.3f}" for c, p in zip(result.top_classes[i], result.top_probabilities[i]))
        lines.append(f"{i:>5}  {result.labels[i]:>4}  {result.predictions[i]:>9}  {result.confidence[i]:>10.4f}  {top}")
    return "\n".join(lines)


# -- output files -----------------------------------------------------------------------------

def write_outputs(parser, out: Path, result, images: np.ndarray, curves: dict) -> list[Path]:
    from nnstudio.core.atomic_file import atomic_write
    from nnstudio.core.mosaic import mosaic
    from nnstudio.core.png_file import write_png

    per_digit = result.per_digit()
    tables = {
        "confusion.csv": [["true\\predicted", *range(10)], *([t, *map(int, row)] for t, row in enumerate(result.confusion))],
        "per_digit.csv": [["digit", "images", "predicted", "correct", "precision", "recall", "f1"],
                          *([d, int(per_digit.support[d]), int(per_digit.predicted[d]), int(per_digit.correct[d]),
                             f"{per_digit.precision[d]:.6f}", f"{per_digit.recall[d]:.6f}", f"{per_digit.f1[d]:.6f}"]
                            for d in range(10))],
        "robustness.csv": [["perturbation", "level", "accuracy"],
                           *([name, f"{level:g}", f"{accuracy:.6f}"] for name, curve in curves.items()
                             for level, accuracy in zip(curve.levels, curve.accuracy))],
    }
    written = []
    try:
        for name, rows in tables.items():
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            with atomic_write(out / name, "w", newline="") as f:
                f.write(buffer.getvalue())
            written.append(out / name)
        shown = result.mistakes()[:GALLERY_SIZE]
        captions = [f"{result.labels[i]}>{result.predictions[i]} {min(99, int(result.confidence[i] * 100))}%"
                    for i in shown]
        picture, _ = mosaic(images[shown], columns=10, scale=2, captions=captions) if len(shown) else (
            np.zeros((56, 56), np.uint8), None)
        written.append(write_png(out / "mistakes.png", picture))
    except OSError as exc:
        parser.error(f"cannot write into {out}: {exc.strerror or exc}")
    return written


if __name__ == "__main__":
    sys.exit(main())
