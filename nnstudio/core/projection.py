"""Maps of many points in two dimensions: PCA, and t-SNE written in NumPy.

t-SNE (van der Maaten and Hinton, 2008) is exact in its repulsive forces: every pair of points
counts, computed a block of rows at a time so the working set stays in cache. The input
affinities use each point's ``3 * perplexity`` nearest neighbours (as Barnes-Hut t-SNE and
openTSNE do), found by exact search. :func:`tsne` is a generator: it yields progress (with the
map so far) every few iterations, so a caller can show it, and can cancel by closing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from nnstudio.core.network import Network, as_inputs


def pca(x: np.ndarray, components: int = 2) -> np.ndarray:
    """The coordinates of the rows of ``x`` on their ``components`` principal axes, largest first.

    Each axis's sign is fixed so that its largest loading is positive: the same data always
    gives the same map, not a mirror image of it.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    components = min(components, d, n)
    centred = x - x.mean(axis=0)
    if d <= n:
        values, vectors = np.linalg.eigh(centred.T @ centred)
        axes = vectors[:, ::-1][:, :components]
    else:  # fewer points than dimensions: the Gram matrix is the smaller problem
        values, vectors = np.linalg.eigh(centred @ centred.T)
        values, vectors = values[::-1][:components], vectors[:, ::-1][:, :components]
        axes = centred.T @ vectors / np.sqrt(np.maximum(values, 1e-12))
    flip = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(components)])
    axes = axes * np.where(flip == 0, 1, flip)
    return centred @ axes


def layer_activations(network: Network, images: np.ndarray, layer: int, *, chunk: int = 2000) -> np.ndarray:
    """Layer ``layer``'s output for every image: 0 is the input, 1.. the hidden layers, the last
    (``len(network.sizes) - 1``) the logits."""
    if not 0 <= layer < len(network.sizes):
        raise ValueError(f"layer {layer} does not exist: the network has layers 0 to {len(network.sizes) - 1}")
    parts = [network.feedforward(as_inputs(images[s:s + chunk], network.dtype))[layer].copy()
             for s in range(0, len(images), chunk)]
    return np.concatenate(parts) if parts else np.empty((0, network.sizes[layer]), network.dtype)


@dataclass(frozen=True, eq=False)
class TsneProgress:
    """How far a t-SNE has got: ``iteration`` of ``iterations`` (0 while affinities are computed)."""

    iteration: int
    iterations: int
    embedding: np.ndarray | None  # the map so far, a copy (None before the first iteration)

    @property
    def fraction(self) -> float:
        return self.iteration / self.iterations if self.iterations else 1.0


def tsne(x: np.ndarray, *, perplexity: float = 30.0, iterations: int = 400, exaggeration: float = 12.0,
         exaggeration_iterations: int = 100, report_every: int = 20, block: int = 256,
         ) -> Iterator[TsneProgress]:
    """Yield :class:`TsneProgress` while mapping the rows of ``x`` to 2-D; returns the map ``(n, 2)``.

    Deterministic: the start is the PCA map (scaled small), not a random draw. Inputs of more than
    50 dimensions are first reduced to 50 by PCA, as is usual.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n < 3:
        return np.zeros((n, 2))
    if x.shape[1] > 50:
        x = pca(x, 50)
    yield TsneProgress(0, iterations, None)
    perplexity = min(perplexity, (n - 1) / 3)
    p = _affinities(x, perplexity, block)
    yield TsneProgress(0, iterations, None)

    start = pca(x, 2)
    y = start / max(float(np.std(start[:, 0])), 1e-12) * 1e-4
    learning_rate = max(n / exaggeration / 4, 50.0)
    velocity = np.zeros_like(y)
    gains = np.ones_like(y)
    for it in range(1, iterations + 1):
        early = it <= exaggeration_iterations
        grad = _gradient(y, p, exaggeration if early else 1.0, block)
        momentum = 0.5 if early else 0.8
        same_sign = (velocity * grad) > 0
        gains = np.where(same_sign, gains * 0.8, gains + 0.2)
        np.maximum(gains, 0.01, out=gains)
        velocity = momentum * velocity - learning_rate * gains * grad
        y = y + velocity
        if it % report_every == 0 or it == iterations:
            y = y - y.mean(axis=0)
            yield TsneProgress(it, iterations, y.astype(np.float32))
    return y


def _affinities(x: np.ndarray, perplexity: float, block: int) -> np.ndarray:
    """The symmetric input affinities ``p_ij``, non-zero between each point and its nearest
    neighbours, as a dense float32 matrix (they sum to 1)."""
    n = len(x)
    k = min(n - 1, int(3 * perplexity) + 1)
    squares = (x * x).sum(axis=1)
    neighbours = np.empty((n, k), np.intp)
    distances = np.empty((n, k))
    for s in range(0, n, block):
        e = min(s + block, n)
        d = squares[s:e, None] - 2 * (x[s:e] @ x.T) + squares[None, :]
        d[np.arange(e - s), np.arange(s, e)] = np.inf
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        neighbours[s:e] = nearest
        distances[s:e] = np.maximum(np.take_along_axis(d, nearest, axis=1), 0)
    # Binary search, for all points at once, of the precision giving each row the perplexity.
    target = np.log(perplexity)
    beta = np.ones(n)
    low, high = np.zeros(n), np.full(n, np.inf)
    distances -= distances.min(axis=1, keepdims=True)  # the nearest neighbour at 0: no underflow
    for _ in range(64):
        w = np.exp(-distances * beta[:, None])
        total = np.maximum(w.sum(axis=1), 1e-300)
        entropy = np.log(total) + beta * (w * distances).sum(axis=1) / total
        too_flat = entropy > target
        low = np.where(too_flat, beta, low)
        high = np.where(too_flat, high, beta)
        beta = np.where(np.isinf(high), beta * 2, (low + high) / 2)
        if np.all(np.abs(entropy - target) < 1e-5):
            break
    w = np.exp(-distances * beta[:, None])
    conditional = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
    # Symmetrise: p_ij = (p_j|i + p_i|j) / 2n.
    dense = np.zeros((n, n), np.float32)
    dense[np.arange(n)[:, None], neighbours] = conditional
    dense += dense.T
    dense /= 2 * n
    return dense


def _gradient(y: np.ndarray, p: np.ndarray, exaggeration: float, block: int) -> np.ndarray:
    """The gradient of KL(P || Q) with respect to the map ``y`` (P dense, float32, times
    ``exaggeration``), a block of rows at a time: attraction ``p_ij q_ij`` and repulsion
    ``q_ij^2 / Z`` between every pair, where ``q_ij = 1 / (1 + |yi - yj|^2)``."""
    n = len(y)
    y32 = y.astype(np.float32)
    squares = (y32 * y32).sum(axis=1)
    # 1 + |yi - yj|^2 = [yi, |yi|^2 + 1, 1] . [-2 yj, 1, |yj|^2]: one matrix product per block.
    left = np.column_stack([y32, squares + 1, np.ones(n, np.float32)])
    right = np.column_stack([-2 * y32, np.ones(n, np.float32), squares]).T.copy()
    with_ones = np.column_stack([y32, np.ones(n, np.float32)])
    pulled = np.empty((n, 3), np.float64)  # [sum_j p_ij q_ij yj, sum_j p_ij q_ij]
    pushed = np.empty((n, 3), np.float64)  # [sum_j q_ij^2 yj, sum_j q_ij^2]
    z = 0.0
    buffer = np.empty((min(block, n), n), np.float32)
    for s in range(0, n, block):
        e = min(s + block, n)
        q = np.matmul(left[s:e], right, out=buffer[:e - s])
        np.reciprocal(q, out=q)
        q[np.arange(e - s), np.arange(s, e)] = 0
        z += float(q.sum())
        pulled[s:e] = (p[s:e] * q) @ with_ones
        q *= q
        pushed[s:e] = q @ with_ones
    attraction = pulled[:, 2:3] * y - pulled[:, :2]
    repulsion = pushed[:, 2:3] * y - pushed[:, :2]
    return 4 * (exaggeration * attraction - repulsion / z)
