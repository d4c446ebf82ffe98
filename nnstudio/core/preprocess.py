"""Turn any picture of a digit into the 28×28 input MNIST networks were trained on.

A network only recognises what looks like its training data. MNIST's digits were
made in a particular way (LeCun, Cortes & Burges, "The MNIST database"):

    "The original black and white (bilevel) images from NIST were size normalized to fit
    in a 20x20 pixel box while preserving their aspect ratio. The resulting images contain
    grey levels as a result of the anti-aliasing technique used by the normalization
    algorithm. The images were centered in a 28x28 image by computing the center of mass
    of the pixels, and translating the image so as to position this point at the center
    of the 28x28 field."

:func:`to_mnist` repeats those steps on a sketch, a photo or a scan, after first undoing
what differs between them and NIST's forms: colour, polarity, faint noise, the size of
the picture and the width of the pen. Everything is NumPy and vectorised (and uses no BLAS, whose
threads would compete with a training run), so a 4000×4000 photo takes tens of
milliseconds and a sketch about one.
"""

from __future__ import annotations

import numpy as np

#: MNIST's frame and the box its digits are scaled to fit.
FRAME = 28
BOX = 20
#: Where MNIST puts the centre of mass, in pixel indices (row, column). Measured on the
#: real test set: the mean is (13.99, 14.01), so "the centre of the 28x28 field" is 14.
CENTRE = 14.0

#: Pictures larger than this (long side, pixels) are first shrunk by whole-block averaging.
#: The digit ends up 20 pixels tall, so 1024 keeps 50 times more detail than needed.
MAX_WORKING_SIDE = 1024
#: Less contrast than this between ink and background (on a 0..1 scale) is an empty picture.
MIN_CONTRAST = 0.15
#: Ink fainter than this (after normalising ink to 0..1) is noise: paper texture,
#: JPEG ringing, a smudge. NIST's forms were bilevel, so they had none.
NOISE_LEVEL = 0.2
#: Pen width in output pixels. MNIST's strokes, in the 20-pixel box, are mostly 2 to 3
#: pixels wide; a thin pen on a large picture would shrink to a faint hairline the
#: network has never seen, so strokes thinner than MIN_STROKE are thickened to STROKE.
MIN_STROKE = 1.6
STROKE = 2.2
#: Resolution (times the output's) at which thin strokes are thickened.
SUPERSAMPLE = 4


def to_mnist(image: np.ndarray) -> np.ndarray | None:
    """Preprocess a picture of one digit into MNIST's format, or ``None`` if it holds no ink.

    ``image`` is a 2-D grayscale array, or 3-D with 1 (gray), 2 (gray + alpha), 3 (RGB) or
    4 (RGBA) channels last; uint8, uint16, bool or float (0..1, or 0..255 if larger than 1);
    any size; light ink on dark or dark ink on light. The result is a ``(28, 28)`` float32
    array in [0, 1] with a white digit on black, exactly as the network's inputs (reshape
    to 784 for :meth:`Network.predict_proba`).

    The steps, each mirroring how MNIST was made:

    1. **Luminance** (transparent pixels composited onto the background): NIST was gray.
    2. **Shrink huge pictures** by block averaging, only to save time.
    3. **Polarity and noise**: the border's median is the paper; ink is whatever differs from
       it, scaled to 0..1 (MNIST's ink is 1.0 on 0.0), and ink fainter than
       :data:`NOISE_LEVEL` is dropped, as NIST's bilevel scans had no faint noise.
    4. **Crop** to the ink's bounding box, which is what gets normalised.
    5. **Pen width**: hairlines are thickened to MNIST's 2-pixel strokes.
    6. **Fit a 20×20 box, aspect ratio preserved, anti-aliased** (area averaging when
       shrinking, bilinear when enlarging): the grey levels of MNIST come from this step.
    7. **Centre of mass at the centre** of the 28×28 frame (by whole pixels).
    """
    a = np.asarray(image)
    if a.ndim == 2 and a.dtype == np.uint8 and max(a.shape) <= MAX_WORKING_SIDE:
        ink = cropped_ink_u8(a)  # a sketch pad's canvas: the same steps, done on the ink's box only
    else:
        gray = luminance(image)
        ink = None if gray is None else ink_layer(gray)
        if ink is not None:
            ink = crop_to_ink(ink)
    if ink is None:
        return None
    thick = normalise_stroke(ink)
    # Untouched, the ink is 0 or at least NOISE_LEVEL everywhere: its sums are exact in float64.
    digit = fit_box(thick, BOX, exact_sums=thick is ink)
    peak = digit.max()
    if peak <= 0:
        return None
    digit /= peak  # MNIST digits peak at full white; a faint pen should too.
    return centre_by_mass(digit, FRAME)


def is_blank(image: np.ndarray) -> bool:
    """True when ``image`` holds no ink that :func:`to_mnist` would see (quick: no resizing)."""
    gray = luminance(image)
    return gray is None or ink_layer(gray) is None


# -- the steps --------------------------------------------------------------------------------


def luminance(image: np.ndarray) -> np.ndarray | None:
    """A float32 2-D array in [0, 1]: the image's brightness, alpha composited on its background.

    Transparent pixels show the background, which is taken to be the opposite of the ink:
    dark strokes on a transparent layer are dark ink on white paper, light strokes are
    light ink on black. Returns ``None`` for an image with no pixels.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected 1 to 4 colour channels, got an array of shape {a.shape}")
    if a.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D grayscale or 3-D colour image, got an array of shape {a.shape}")
    if a.size == 0:
        return None
    full_scale = _full_scale(a)
    # Shrink huge photos before anything else (on the raw pixels, so never a big float copy).
    raw = shrink(a, MAX_WORKING_SIDE)
    a = raw.astype(np.float32)  # a copy: the caller's array is never changed
    a *= np.float32(1 / full_scale)
    if not np.issubdtype(raw.dtype, np.unsignedinteger):  # floats and signed integers may stray
        np.nan_to_num(a, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(a, 0.0, 1.0, out=a)
    if a.ndim == 2:
        return a
    channels = a.shape[2]
    colour = a[..., :3] if channels >= 3 else a[..., :1]
    if channels >= 3:
        gray = 0.299 * colour[..., 0] + 0.587 * colour[..., 1] + 0.114 * colour[..., 2]  # ITU-R BT.601 luma
    else:
        gray = colour[..., 0]
    if channels in (2, 4):
        alpha = a[..., -1]
        coverage = float(alpha.sum())
        if coverage <= 0:
            return np.zeros(gray.shape, np.float32)
        ink_brightness = float((gray * alpha).sum()) / coverage
        background = 1.0 if ink_brightness < 0.5 else 0.0
        gray = gray * alpha + background * (1 - alpha)
    return np.ascontiguousarray(gray, dtype=np.float32)


def shrink(image: np.ndarray, max_side: int, *, keep_edges: bool = False) -> np.ndarray:
    """Average whole ``k``×``k`` blocks so the long side is at most ``max_side`` (k an integer).

    Exact area averaging, hence no aliasing. It is computed as ``k`` strided additions per
    axis, which reads a 4000×4000 photo once in a few milliseconds instead of copying it
    to floats. The last ``k - 1`` rows and columns, when the size is not a multiple of
    ``k``, are dropped (a photo's background), or with ``keep_edges`` padded with zeros
    (no ink) so nothing is lost.
    """
    h, w = image.shape[:2]
    k = -(-max(h, w) // max_side)  # ceiling division
    if k <= 1:
        return image
    if keep_edges:
        image = np.pad(image, [(0, -h % k), (0, -w % k)] + [(0, 0)] * (image.ndim - 2))
        h, w = image.shape[:2]
    elif h < k or w < k:  # a strip thinner than one block: repeat its edge rather than drop it all
        image = np.pad(image, [(0, k - h if h < k else 0), (0, k - w if w < k else 0)]
                       + [(0, 0)] * (image.ndim - 2), mode="edge")
        h, w = image.shape[:2]
    # uint8 blocks of up to 16×16 sum exactly, and twice as fast, in uint16.
    total = np.uint16 if image.dtype == np.uint8 and k <= 16 else np.float32
    rows = np.zeros((h // k, w, *image.shape[2:]), total)
    for i in range(k):
        rows += image[i : h - h % k : k]
    blocks = np.zeros((h // k, w // k, *image.shape[2:]), total)
    for j in range(k):
        blocks += rows[:, j : w - w % k : k]
    return blocks * np.float32(1 / (k * k))


def ink_layer(gray: np.ndarray) -> np.ndarray | None:
    """Ink as 1.0 on a 0.0 background, like MNIST, or ``None`` when there is no ink.

    The background is the median of the border pixels: a digit rarely covers more than
    half of the picture's edge, whatever its colour. If that background is light, the ink
    is dark and the picture is inverted. Ink is then scaled so the strongest is 1.0, and
    anything fainter than :data:`NOISE_LEVEL` is dropped.
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 0.5:
        gray = 1.0 - gray
        background = 1.0 - background
    contrast = float(gray.max()) - background
    if contrast < MIN_CONTRAST:
        return None
    ink = (gray - background) * np.float32(1.0 / contrast)
    ink[ink < NOISE_LEVEL] = 0.0
    return ink.astype(np.float32, copy=False)


def cropped_ink_u8(gray: np.ndarray) -> np.ndarray | None:
    """``crop_to_ink(ink_layer(luminance(gray)))`` for a 2-D uint8 picture no larger than
    :data:`MAX_WORKING_SIDE`, to the bit, without a float copy of the whole picture.

    Every step up to the crop maps each pixel's value through the same float32 arithmetic, which
    never decreases (or, on light paper, never increases) with the value: so the 256 values go
    through it once (a lookup table), the ink's box comes from each row's and column's extreme
    value, and only the box is looked up. A sketch's canvas (hundreds of pixels a side, the digit
    in a part of it) costs a fraction of the general path.
    """
    if gray.size == 0:
        return None
    unit = np.float32(1 / 255.0)  # luminance's scaling of uint8 pixels
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).astype(np.float32) * unit
    background = float(np.median(border))
    values = np.arange(256, dtype=np.float32) * unit
    light_paper = background > 0.5
    if light_paper:
        values = 1.0 - values
        background = 1.0 - background
    lo, hi = int(gray.min()), int(gray.max())
    strongest = values[lo] if light_paper else values[hi]
    contrast = float(strongest) - background
    if contrast < MIN_CONTRAST:
        return None
    lut = (values - background) * np.float32(1.0 / contrast)
    lut[lut < NOISE_LEVEL] = 0.0
    inky = np.flatnonzero(lut)  # a run of values: the darkest ones on light paper, else the lightest
    if light_paper:
        threshold = int(inky[-1])
        rows = np.flatnonzero(gray.min(axis=1) <= threshold)
        cols = np.flatnonzero(gray.min(axis=0) <= threshold)
    else:
        threshold = int(inky[0])
        rows = np.flatnonzero(gray.max(axis=1) >= threshold)
        cols = np.flatnonzero(gray.max(axis=0) >= threshold)
    return lut[gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]]


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every inked pixel (``ink`` must hold some)."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def stroke_width(ink: np.ndarray) -> float:
    """The mean pen width of the (cropped) ink, in its pixels: twice the area over the perimeter.

    A stroke of width ``w`` and length ``L`` has area ``wL`` and perimeter about ``2L``. The
    perimeter is estimated by the Cauchy–Crofton formula, counting ink/background
    transitions along rows, columns and both diagonals, so the estimate does not depend on
    the stroke's direction (within about 5%).
    """
    solid = np.pad(ink >= 0.5, 1)
    area = np.count_nonzero(solid)
    if area == 0:
        return 0.0
    rows = np.count_nonzero(solid[:, 1:] != solid[:, :-1])
    cols = np.count_nonzero(solid[1:, :] != solid[:-1, :])
    diagonals = np.count_nonzero(solid[1:, 1:] != solid[:-1, :-1]) + np.count_nonzero(solid[1:, :-1] != solid[:-1, 1:])
    perimeter = np.pi / 8 * (rows + cols + diagonals / np.sqrt(2))
    return 2.0 * area / perimeter


def normalise_stroke(ink: np.ndarray) -> np.ndarray:
    """Thicken strokes that would end up thinner than :data:`MIN_STROKE` pixels in the 20×20 box.

    Working at :data:`SUPERSAMPLE` times the output's resolution, the ink is dilated with a
    disc (a grey-level maximum filter), which widens the pen evenly in every direction
    while keeping soft edges. Strokes already thick enough pass unchanged.
    """
    scale = BOX / max(ink.shape)
    width = stroke_width(ink) * scale
    if width >= MIN_STROKE:
        return ink
    working = shrink(ink, BOX * SUPERSAMPLE, keep_edges=True)
    # Block averaging left a hairline faint (and unevenly so): restore its strength.
    typical = np.percentile(working[working > 0], 90)
    working = np.clip(working * np.float32(1 / typical), 0.0, 1.0)
    pixels_per_output_pixel = max(working.shape) / BOX
    radius = (STROKE - width) / 2 * pixels_per_output_pixel
    return dilate(working, radius)


def dilate(image: np.ndarray, radius: float) -> np.ndarray:
    """Grey-level dilation by a disc of ``radius`` pixels: each pixel becomes its neighbourhood's max."""
    r = int(np.floor(radius))
    if r < 1:
        return image
    out = np.pad(image, r)  # grow the canvas so the widened stroke is not cut off
    source = out.copy()
    h, w = out.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if (dy or dx) and dy * dy + dx * dx <= radius * radius:
                target = out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)]
                np.maximum(target, source[max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)], out=target)
    return out


def resize_axis(image: np.ndarray, n_out: int, axis: int, *, exact_sums: bool = False) -> np.ndarray:
    """Resize ``image`` along one ``axis`` to ``n_out`` pixels, anti-aliased.

    Shrinking averages the input pixels each output pixel covers, weighted by how much of
    each it covers (a box filter: nothing is skipped, so thin strokes fade instead of
    vanishing). It is done exactly with a running sum: the ink between two fractional
    positions is the difference of the running sum, interpolated linearly, at them.
    Enlarging interpolates linearly between the two nearest input pixel centres.
    Both keep values in [0, 1] and cost a few passes over the data, whatever the scale.

    ``exact_sums``: the caller knows every sum of ``image``'s values along ``axis`` is exact in
    float64 (float32 values, each 0 or at least 2**-19, at most 2**11 of them), so the few running
    sums needed are taken blockwise rather than all of them one by one: the same bits, in a
    fraction of the time (NumPy's running sum along an axis is a slow strided loop).
    """
    a = np.moveaxis(image, axis, 0)
    n_in = a.shape[0]
    ratio = n_in / n_out
    if n_out <= n_in:
        edges = np.arange(n_out + 1) * ratio  # output pixel i covers input [edges[i], edges[i + 1])
        whole = np.minimum(np.floor(edges).astype(np.intp), n_in - 1)
        part = (edges - whole).reshape(-1, *([1] * (a.ndim - 1)))
        if exact_sums:
            running, whole = running_sums_at(a, whole)
        else:
            running = np.zeros((n_in + 1, *a.shape[1:]), np.float64)
            np.cumsum(a, axis=0, out=running[1:])
        integral = running[whole] + part * (running[whole + 1] - running[whole])
        out = np.diff(integral, axis=0) / ratio
    else:
        centres = np.clip((np.arange(n_out) + 0.5) * ratio - 0.5, 0, n_in - 1)
        left = np.minimum(np.floor(centres).astype(np.intp), max(n_in - 2, 0))
        right = np.minimum(left + 1, n_in - 1)
        t = (centres - left).reshape(-1, *([1] * (a.ndim - 1)))
        out = a[left] * (1 - t) + a[right] * t
    return np.moveaxis(out.astype(np.float32), 0, axis)


def running_sums_at(a: np.ndarray, whole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(running, index)`` such that ``running[index[i]]`` and ``running[index[i] + 1]`` are the sums of
    ``a``'s first ``whole[i]`` and ``whole[i] + 1`` rows, in float64 (block sums added up: exact only
    when every such sum is, see :func:`resize_axis`)."""
    rows = np.unique(np.concatenate([whole, whole + 1]))  # the running sums needed, 0..n_in
    ends = rows[rows > 0]
    starts = np.concatenate([[0], ends[:-1]])
    blocks = np.add.reduceat(a[: ends[-1]].astype(np.float64), starts, axis=0)  # rows [start, end)
    sums = np.zeros((len(rows), *a.shape[1:]), np.float64)
    first = 1 if rows[0] == 0 else 0  # sums[0]: no rows
    np.cumsum(blocks, axis=0, out=sums[first : first + len(blocks)])
    # sums[j] is the sum of the first rows[j] rows (sums[0] = 0 when rows[0] == 0).
    position = np.searchsorted(rows, whole)  # rows[position] == whole, rows[position + 1] == whole + 1
    return sums, position


def fit_box(ink: np.ndarray, box: int, *, exact_sums: bool = False) -> np.ndarray:
    """Scale ``ink`` so its long side is ``box`` pixels, preserving its aspect ratio (``exact_sums``:
    see :func:`resize_axis`)."""
    h, w = ink.shape
    scale = box / max(h, w)
    out_h, out_w = max(1, min(box, round(h * scale))), max(1, min(box, round(w * scale)))
    return resize_axis(resize_axis(ink, out_h, axis=0, exact_sums=exact_sums), out_w, axis=1)


def centre_by_mass(digit: np.ndarray, frame: int) -> np.ndarray:
    """Paste ``digit`` into a ``frame``×``frame`` black image with its centre of mass at :data:`CENTRE`.

    The shift is rounded to whole pixels, as MNIST's was, and clipped so the digit stays
    entirely inside the frame.
    """
    h, w = digit.shape
    mass = digit.sum()
    cy = float(digit.sum(axis=1) @ np.arange(h)) / mass
    cx = float(digit.sum(axis=0) @ np.arange(w)) / mass
    top = int(np.clip(round(CENTRE - cy), 0, frame - h))
    left = int(np.clip(round(CENTRE - cx), 0, frame - w))
    out = np.zeros((frame, frame), np.float32)
    out[top : top + h, left : left + w] = digit
    return out


def _full_scale(a: np.ndarray) -> float:
    """The pixel value that means white: 255 for uint8, the type's maximum for wider integers,
    1.0 for floats in [0, 1] (and 255 for floats that go above 1)."""
    if a.dtype == np.bool_:
        return 1.0
    if np.issubdtype(a.dtype, np.integer):
        return 255.0 if a.dtype.itemsize == 1 else float(np.iinfo(a.dtype).max)
    top = float(np.nanmax(np.where(np.isinf(a), 0, a))) if a.size else 0.0
    return 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else top
