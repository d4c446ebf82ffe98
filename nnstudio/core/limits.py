"""The one table of hyperparameter limits, read by the config, the form and the command line.

Each entry is ``(lowest, highest)``, both allowed. :func:`parse_hidden` is the one reader of a
hidden-layer list typed as text ("128,64").
"""

from __future__ import annotations

LIMITS: dict[str, tuple[float, float]] = {
    "hidden": (1, 8192),  # each layer's size
    "learning_rate": (1e-5, 10.0),
    "momentum": (0.0, 0.99),
    "weight_decay": (0.0, 1.0),
    "batch_size": (1, 60000),
    "max_epochs": (1, 10000),
    "patience": (0, 1000),  # 0 turns early stopping off
    "augment_shift": (0, 4),  # pixels
    "validation_size": (1, 59999),
    "seed": (0, 2**31 - 1),
    # The second edition's engine (issue 11) and the training-set options (issue 13).
    "beta1": (0.0, 0.9999),
    "beta2": (0.0, 0.9999),
    "eps": (1e-12, 1.0),
    "dropout": (0.0, 0.9),  # of the hidden units dropped each batch
    "input_dropout": (0.0, 0.9),  # of the input pixels
    "augment_rotate": (0, 180),  # degrees
    "augment_scale": (0, 0.5),  # fraction
    "augment_shear": (0, 60),  # degrees
    "elastic_alpha": (0, 100),  # pixels; 0 is off
    "elastic_sigma": (0.5, 20),  # pixels
    "augment_noise": (0, 1),  # on the 0..1 pixel scale
    "augment_thickness": (0, 3),  # steps
    "augment_thickness_bias": (-3, 3),  # steps added to each thickness draw
    "augment_unwarped": (0, 1),  # share of images left unwarped
    "augmenter_shift": (0, 8),  # pixels: the augmenter's own bound (the form's is augment_shift)
    "train_size": (10, 60000),  # images; 0 (all) is also allowed
    "label_noise": (0, 0.5),  # share of training labels
    "diagnostics_every": (0, 100000),  # batches; 0: diagnostics per epoch only
}

DEFAULT_VALIDATION_FRACTION = 0.1  # of a training set too small for the validation size asked for


def number_text(value: float) -> str:
    """A limit as a person writes it: ``1e-5``, ``0.99``, ``10``, ``2147483647``."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}".replace("e-0", "e-").replace("e+0", "e")


def describe(name: str) -> str:
    """``"between 1e-5 and 10"``."""
    lowest, highest = LIMITS[name]
    return f"between {number_text(lowest)} and {number_text(highest)}"


def low(name: str) -> float:
    return LIMITS[name][0]


def high(name: str) -> float:
    return LIMITS[name][1]


def within(name: str, value: float) -> bool:
    lowest, highest = LIMITS[name]
    return lowest <= value <= highest


def parse_hidden(text: str) -> tuple[tuple[int, ...] | None, str]:
    """``"128, 64"`` -> ``((128, 64), "")``; on a fault ``(None, reason)``."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip():
        return None, "hidden layers: give at least one layer size, e.g. 128,64"
    if any(not p for p in parts):
        return None, "hidden layers: a size is missing between commas"
    if any(not p.isdigit() for p in parts):
        return None, "hidden layers: not a comma-separated list of whole numbers, e.g. 128,64"
    sizes = tuple(int(p) for p in parts)
    lowest, highest = LIMITS["hidden"]
    if any(not lowest <= s <= highest for s in sizes):
        return None, f"hidden layers: each size must be from {lowest} to {highest}"
    return sizes, ""


def validation_size_for(train_images: int, asked: int) -> int:
    """``asked`` if ``train_images`` can spare it (keeping at least as many to train on), else 10% of them."""
    if 0 < asked < train_images and asked <= train_images // 2:
        return asked
    return max(1, round(DEFAULT_VALIDATION_FRACTION * train_images))
