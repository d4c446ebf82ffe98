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


def _gemm_at_b(functions: dict, a: np.ndarray, b: np.ndarray, c: np.ndarray, alpha: float, beta: float) -> bool:
    """``c = alpha * a.T @ b + beta * c`` in place; False (nothing done) if the arrays do not suit."""
    function = functions.get(c.dtype)
    size = c.itemsize
    if (function is None or a.dtype != c.dtype or b.dtype != c.dtype or a.ndim != 2 or b.ndim != 2
            or a.shape[0] != b.shape[0] or c.shape != (a.shape[1], b.shape[1]) or not c.flags.c_contiguous
            or a.strides[1] != size or b.strides[1] != size or not c.flags.writeable):
        return False
    k, m = a.shape
    n = b.shape[1]
    function(ROW_MAJOR, TRANS, NO_TRANS, m, n, k, alpha, a.ctypes.data, max(a.strides[0] // size, m),
             b.ctypes.data, max(b.strides[0] // size, n), beta, c.ctypes.data, n)
    return True


@functools.cache
def gemm_at_b() -> Gemm | None:
    """``gemm(a, b, c, alpha, beta)``: ``c = alpha * a.T @ b + beta * c`` for float32 and float64
    (rows of ``a`` and ``b`` may be strided, ``c`` C-contiguous); None where no checked BLAS was found."""
    functions = {}
    for dtype in SYMBOLS:
        function = _bind(dtype)
        if function is None:
            continue
        rng = np.random.default_rng(0)
        a = rng.random((5, 4)).astype(dtype)
        b = rng.random((5, 3)).astype(dtype)
        c = rng.random((4, 3)).astype(dtype)
        expected = 0.5 * c - 2.0 * (a.T @ b)
        if _gemm_at_b({dtype: function}, a[:, :], b, c, -2.0, 0.5) and np.allclose(c, expected, rtol=1e-5):
            functions[dtype] = function
    return functools.partial(_gemm_at_b, functions) if functions else None
