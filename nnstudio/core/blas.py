"""BLAS's ``C <- alpha * A.T @ B + beta * C``, taken from the OpenBLAS that NumPy itself ships.

``np.matmul`` can only overwrite its output, so a weight update costs the product plus one
more pass over the weights (``w -= a.T @ delta``). BLAS's gemm adds the product into the
weights, or into the momentum's velocities, as it computes it, which saves that pass: about
4% of a wide network's epoch. NumPy does not expose it, but its wheels bundle OpenBLAS with
the standard CBLAS interface (64-bit integers, ``scipy_`` prefix); this module finds that
library with ctypes and checks it on a small product before use. Anywhere else (another
BLAS, a NumPy built from source, a failed check) :func:`gemm_at_b` is None and the training
step falls back to matmul and a subtraction: same results, one pass more.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from collections.abc import Callable

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
SYMBOLS = {np.dtype(np.float32): ("scipy_cblas_sgemm64_", ctypes.c_float),
           np.dtype(np.float64): ("scipy_cblas_dgemm64_", ctypes.c_double)}

Gemm = Callable[[np.ndarray, np.ndarray, np.ndarray, float, float], bool]


def _library_paths() -> list[str]:
    """Where NumPy's wheels keep their OpenBLAS (Linux and Windows: numpy.libs; macOS: numpy/.dylibs)."""
    numpy_dir = os.path.dirname(np.__file__)
    patterns = [os.path.join(numpy_dir, os.pardir, "numpy.libs", "*openblas*"),
                os.path.join(numpy_dir, ".dylibs", "*openblas*")]
    return sorted(p for pattern in patterns for p in glob.glob(pattern))


def _bind(dtype: np.dtype) -> Callable | None:
    name, scalar = SYMBOLS[dtype]
    i64, cint, ptr = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    for path in _library_paths():
        try:
            function = getattr(ctypes.CDLL(path), name)
        except (OSError, AttributeError):
            continue
        function.argtypes = [cint, cint, cint, i64, i64, i64, scalar, ptr, i64, ptr, i64, scalar, ptr, i64]
        function.restype = None
        return function
    return None


def _suits(function, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    size = c.itemsize
    return (function is not None and a.dtype == c.dtype and b.dtype == c.dtype and a.ndim == 2 and b.ndim == 2
            and a.shape[0] == b.shape[0] and c.shape == (a.shape[1], b.shape[1]) and c.flags.c_contiguous
            and a.strides[1] == size and c.flags.writeable and a.strides[0] > 0 and a.strides[0] % size == 0
            and (_rows_of(b, size) or _columns_of(b, size)))


def _rows_of(b: np.ndarray, size: int) -> bool:
    """Whether ``b`` is stored row by row (its rows may be strided)."""
    return b.strides[1] == size and b.strides[0] > 0 and b.strides[0] % size == 0


def _columns_of(b: np.ndarray, size: int) -> bool:
    """Whether ``b`` is stored column by column (the transpose of a row-major array)."""
    return b.strides[0] == size and b.strides[1] > 0 and b.strides[1] % size == 0


class Plan:
    """``plan(alpha, beta)``: one gemm on fixed arrays, its arguments converted to C types once.

    ``plan.fixed(alpha, beta)`` gives a call without arguments for a fixed ``alpha`` and ``beta``
    (plain SGD's ``-1, 1``): about 1.5 µs a call, where converting 14 arguments costs 4 µs.
    """

    def __init__(self, function, a: np.ndarray, b: np.ndarray, c: np.ndarray, *, transpose_a: bool = True) -> None:
        k, m = a.shape if transpose_a else a.shape[::-1]
        n = b.shape[1]
        size = c.itemsize
        lda = max(a.strides[0] // size, m if transpose_a else k)
        if _rows_of(b, size):
            trans_b, ldb = NO_TRANS, max(b.strides[0] // size, n)
        else:  # b is the transpose of a row-major (n, k) array
            trans_b, ldb = TRANS, max(b.strides[1] // size, k)
        scalar = SYMBOLS[c.dtype][1]
        self._raw = _unchecked(function)
        self._keep = (a, b, c)  # the arrays outlive the pointers
        self._alpha, self._beta = scalar(0.0), scalar(0.0)
        cint, i64, ptr = ctypes.c_int, ctypes.c_int64, ctypes.c_void_p
        self._head = (cint(ROW_MAJOR), cint(TRANS if transpose_a else NO_TRANS), cint(trans_b), i64(m), i64(n), i64(k))
        self._tail = (ptr(a.ctypes.data), i64(lda), ptr(b.ctypes.data), i64(ldb))
        self._out = (ptr(c.ctypes.data), i64(max(c.strides[0] // size, n)))  # c's rows may be strided (a forward product into a layer buffer)
        self._args = (*self._head, self._alpha, *self._tail, self._beta, *self._out)

    def __call__(self, alpha: float, beta: float) -> None:
        self._alpha.value, self._beta.value = alpha, beta
        self._raw(*self._args)

    def fixed(self, alpha: float, beta: float) -> Callable[[], None]:
        scalar = type(self._alpha)
        return functools.partial(self._raw, *self._head, scalar(alpha), *self._tail, scalar(beta), *self._out)


def _unchecked(function):
    """The same C function without ``argtypes``: arguments already of C types pass without conversion."""
    raw = type(function)(ctypes.cast(function, ctypes.c_void_p).value)
    raw.restype = None
    return raw


def _plan(function, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> Plan:
    return Plan(function, a, b, c)


@functools.cache
def _functions() -> dict:
    """The checked gemm of each dtype NumPy's OpenBLAS offers."""
    functions = {}
    for dtype in SYMBOLS:
        function = _bind(dtype)
        if function is None:
            continue
        rng = np.random.default_rng(0)
        a = rng.random((5, 6)).astype(dtype)[:, :4]  # strided rows, as the step's inputs are
        b = rng.random((5, 3)).astype(dtype)
        c = rng.random((4, 3)).astype(dtype)
        bt = np.ascontiguousarray(b.T).T  # the same values stored column by column
        expected = 0.5 * c - 2.0 * (a.T @ b)
        twin, twin_expected = c.copy(), 0.25 * c - 3.0 * (a.T @ b)
        if _suits(function, a, b, c) and _suits(function, a, bt, twin):
            _plan(function, a, b, c)(-2.0, 0.5)
            _plan(function, a, bt, twin)(-3.0, 0.25)
            if np.allclose(c, expected, rtol=1e-5) and np.allclose(twin, twin_expected, rtol=1e-5):
                functions[dtype] = function
    return functions


def plan_at_b(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> Plan | None:
    """``plan(alpha, beta)`` computes ``c = alpha * a.T @ b + beta * c`` in place, for these very
    arrays (checked once, so a call costs little more than BLAS's own work); rows of ``a`` may be
    strided, ``b`` may be stored by rows (strided) or by columns, ``c`` must be C-contiguous.
    None where the arrays or the BLAS do not suit."""
    function = _functions().get(c.dtype)
    return _plan(function, a, b, c) if _suits(function, a, b, c) else None


def plan_a_b(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> Plan | None:
    """``plan(alpha, beta)`` computes ``c = alpha * a @ b + beta * c`` in place (a forward product that
    scales as it multiplies), on the terms of :func:`plan_at_b`; ``b`` stored by rows. None where the
    arrays or the BLAS do not suit."""
    function, size = _functions().get(c.dtype), c.itemsize
    if not (function is not None and a.dtype == c.dtype and b.dtype == c.dtype and a.ndim == 2 and b.ndim == 2
            and a.shape[1] == b.shape[0] and c.shape == (a.shape[0], b.shape[1]) and _rows_of(a, size)
            and _rows_of(b, size) and _rows_of(c, size) and c.flags.writeable):
        return None
    return Plan(function, a, b, c, transpose_a=False)


def gemm_at_b() -> Gemm | None:
    """``gemm(a, b, c, alpha, beta)``: :func:`plan_at_b` made and called at once, returning whether
    it could; None where no checked BLAS was found."""
    if not _functions():
        return None

    def gemm(a: np.ndarray, b: np.ndarray, c: np.ndarray, alpha: float, beta: float) -> bool:
        plan = plan_at_b(a, b, c)
        if plan is not None:
            plan(alpha, beta)
        return plan is not None

    return gemm
