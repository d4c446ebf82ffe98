"""Numbers as the app and the command line show them: percentages, durations, time left."""

from __future__ import annotations

import math
from numbers import Real


def is_number(value) -> bool:
    """A finite real number (not a bool, not a string like "97%" from a hand-edited summary)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def percent(value, missing: str = "") -> str:
    """``0.9712`` -> ``"97.12%"``; ``None`` -> ``missing``; anything that is not a number -> ``""``."""
    if value is None:
        return missing
    return f"{100 * value:.2f}%" if is_number(value) else ""


def duration(seconds) -> str:
    """A run's length: ``75`` -> ``"1:15"``, ``12.4`` -> ``"12 s"``; ``""`` for none or not a number."""
    if not is_number(seconds) or not seconds:
        return ""
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}" if minutes else f"{seconds} s"


def time_left(seconds: float) -> str:
    """Time still to go, like a clock: ``"<1 s"``, ``"59 s"``, ``"1:01"``.

    Under a second reads ``"<1 s"``: an epoch of the seed's network takes 0.4 s, and "0 s left"
    would read as done."""
    if seconds < 1:
        return "<1 s"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"
