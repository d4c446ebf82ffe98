"""``nnstudio-predict``: classify digit images from the command line.

    nnstudio-predict [--model FILE] IMAGE...

Prints one line per image on stdout, in the order given::

    PATH<TAB>DIGIT<TAB>CONFIDENCE        e.g.  seven.png	7	0.9931
    PATH<TAB>error: REASON               e.g.  notes.txt	error: not an image (unknown format)

so the output stays one line per input and can be read by ``cut`` or a spreadsheet.
Images may be PNG, JPEG or any format Qt reads, of any size, with dark ink on light
paper or light ink on dark; they go through the same preprocessing as the sketch pad
(:func:`nnstudio.core.preprocess.to_mnist`). The exit status is 0 when every image was
classified, 1 when any could not be, and 2 for a usage error (or an unusable model).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nnstudio.core.preprocess import to_mnist


class ImageError(ValueError):
    """An input that cannot be classified; the message says why, in a few words."""


MAX_MEGAPIXELS = 50  # a 48-megapixel phone photo reads; a 10000x10000 picture is refused as too large


def read_image(path: Path) -> np.ndarray:
    """Load an image file as uint8 pixels: (h, w) gray, or (h, w, 4) RGBA when it has transparency.

    Qt's image readers need no QApplication; QtGui is loaded only when an image is read.
    """
    from PySide6.QtGui import QImage, QImageReader

    quiet_qt_image_warnings()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except OSError as exc:
        raise ImageError(f"cannot read ({(exc.strerror or str(exc)).lower()})") from None
    if stat.S_ISDIR(mode):
        raise ImageError("a folder, not an image")
    if not stat.S_ISREG(mode):  # a named pipe or a device would block the reader forever
        raise ImageError("not a regular file (a named pipe or a device), not an image")
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # honour a photo's EXIF orientation
    size = reader.size()  # from the header, before any pixel is decoded
    if size.isValid() and size.width() * size.height() > MAX_MEGAPIXELS * 1_000_000:
        raise ImageError(f"too large: {size.width()}x{size.height()} pixels "
                         f"(the limit is {MAX_MEGAPIXELS} megapixels)")
    with silenced_stderr():  # libpng writes its complaints straight to file descriptor 2
        image = reader.read()
    if image.isNull():
        raise ImageError(f"not an image ({reader.errorString().lower()})")
    if image.hasAlphaChannel():
        image = image.convertToFormat(QImage.Format.Format_RGBA8888)
        channels = 4
    else:
        image = image.convertToFormat(QImage.Format.Format_Grayscale8)
        channels = 1
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8, count=h * stride).reshape(h, stride)
    pixels = rows[:, : w * channels].reshape(h, w, channels) if channels > 1 else rows[:, :w]
    return pixels.copy()


@contextmanager
def silenced_stderr():
    """Point file descriptor 2 at /dev/null for a moment (this command is single-threaded)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quiet_qt_image_warnings() -> None:
    """Keep Qt's and libpng's own complaints about a broken file off stderr: the file's line
    already says what is wrong with it."""
    from PySide6.QtCore import qInstallMessageHandler

    qInstallMessageHandler(lambda kind, context, message: None)


def classify(path: Path, network) -> tuple[int, float]:
    """The most probable digit in the image at ``path`` and its probability."""
    digit_input = to_mnist(read_image(path))
    if digit_input is None:
        raise ImageError("blank image (no ink found)")
    probabilities = network.predict_proba(digit_input.reshape(1, -1))[0]
    digit = int(probabilities.argmax())
    return digit, float(probabilities[digit])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnstudio-predict",
        description="Classify images of handwritten digits with an nnstudio model.",
        epilog="Output: one line per image, PATH<TAB>DIGIT<TAB>CONFIDENCE, or PATH<TAB>error: REASON. "
               "Exit status: 0 all classified, 1 some could not be, 2 usage error.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", type=Path, help="PNG, JPEG, ... of one digit each")
    parser.add_argument("--model", type=Path, metavar="FILE",
                        help="an nnstudio model file (.npz) or a run folder; default: the model bundled with nnstudio")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from nnstudio.core.model_file import ModelFileError, load_model
    from nnstudio.resources import BUNDLED_MODEL

    model_path = args.model or BUNDLED_MODEL
    if model_path.is_dir():  # a run folder, as nnstudio-train --out writes it
        model_path = model_path / "model.npz"
    try:
        network = load_model(model_path).network
    except ModelFileError as exc:
        parser.error(f"cannot use the model: {exc}")
    if network.sizes[0] != 28 * 28 or network.sizes[-1] != 10:
        parser.error(f"{model_path} is not a digit classifier (784 inputs, 10 outputs)")

    failures = 0
    for path in args.images:
        try:
            digit, confidence = classify(path, network)
        except ImageError as exc:
            failures += 1
            print(f"{path}\terror: {exc}", flush=True)
        except (ValueError, OSError, MemoryError) as exc:  # the rest of the images still run
            failures += 1
            print(f"{path}\terror: cannot classify ({type(exc).__name__}: {exc})", flush=True)
        else:
            print(f"{path}\t{digit}\t{confidence:.4f}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
