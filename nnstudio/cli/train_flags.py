"""``nnstudio-train``'s flags: the parser, and the preset's config with the given flags applied."""

from __future__ import annotations

import argparse
from pathlib import Path

from nnstudio import __version__


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
    "thickness_bias": "augment_thickness_bias", "unwarped": "augment_unwarped",
}
OVERRIDES["diagnostics_every"] = "diagnostics_every"
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


def diagnostics_interval(text: str) -> int:
    """Parse ``--diagnostics-every``: batches between diagnostics, 0 (per epoch only) or more."""
    from nnstudio.core.limits import LIMITS

    highest = int(LIMITS["diagnostics_every"][1])
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= highest:
        raise argparse.ArgumentTypeError(
            f"{text!r}: diagnostics every N batches must be a whole number from 0 (per epoch only) to {highest}")
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
    add("--thickness-bias", type=float, help="add this many steps to each thickness draw; negative: thinner (-3 to 3)")
    add("--unwarped", type=float, metavar="SHARE", help="leave this share of training images (0 to 1) out of "
        "the affine and elastic warp; their thickness and noise still change")
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
    add("--diagnostics-every", type=diagnostics_interval, metavar="N", help="also measure the per-layer "
        "update ratios every N batches, besides each epoch's end (0, the default: per epoch only)")
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
