"""The elementwise half of a training step: ReLU's derivative, updates in chunks, work shared out.

:class:`~nnstudio.core.train_step.TrainStep` takes these methods from :class:`ElementwiseWork`; they
read the step's ``layers``, ``velocities``, ``_step`` (each layer's written-out step), ``_pool``
(the helper threads, or None), ``threads``, ``parallel_min``, ``chunk``, ``_scratch``, ``blas``,
and ``_plans``. Each update goes in as few passes as it can: BLAS adds a plain SGD or momentum step
inside the gradient product (:mod:`nnstudio.core.blas`); Nesterov and weight decay sweep the layer
once, chunk by chunk, each chunk small enough to stay in cache; large layers are shared out over
the helper threads in contiguous parts (NumPy releases the GIL inside its loops).
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.blas import plan_at_b


class ElementwiseWork:
    """The step's elementwise work and updates (a mixin of :class:`~nnstudio.core.train_step.TrainStep`)."""

    def _scale_by_derivative(self, delta: np.ndarray, h: np.ndarray, mask: np.ndarray) -> None:
        if self.network.activation == "relu":
            np.greater(h, 0, out=mask)
            np.multiply(delta, mask, out=delta)
        else:
            self.network._scale_by_derivative(delta, h)

    def _share(self, work, stop: int, elements: int) -> None:
        """Run ``work(lo, hi, part)`` over ``0:stop``: on this thread alone for small work (or one
        thread), else in one contiguous part per thread, part 0 here and the others on the pool."""
        if self._pool is None or elements < self.parallel_min:
            work(0, stop, 0)
            return
        parts = self.threads
        bounds = [stop * k // parts for k in range(parts + 1)]
        futures = [self._pool.submit(work, bounds[k], bounds[k + 1], k) for k in range(1, parts)]
        work(bounds[0], bounds[1], 0)
        for future in futures:
            future.result()

    def _update(self, i: int, a: np.ndarray, delta: np.ndarray, decay: float, momentum: float,
                nesterov: bool) -> None:
        """Layer ``i`` takes its step ``a.T @ delta`` (= lr * gradient)."""
        p = self.layers[i]
        flat = p.reshape(-1)
        if self.blas and not decay and not nesterov:
            plan = self._plan(i, a, delta, bool(momentum))
            if plan is not None and not momentum:
                plan(-1.0, 1.0)  # w -= a.T @ delta, inside the product
                return
            if plan is not None:
                plan(-1.0, momentum)  # v = momentum * v - a.T @ delta, inside the product
                v = self.velocities[i].reshape(-1)
                self._share(lambda lo, hi, part: np.add(flat[lo:hi], v[lo:hi], out=flat[lo:hi]), flat.size, flat.size)
                return
        if self._step[i] is None:
            self._step[i] = np.empty_like(p)
        np.matmul(a.T, delta, out=self._step[i])
        s = self._step[i].reshape(-1)
        v = self.velocities[i].reshape(-1) if momentum else None
        weights_end = flat.size - p.shape[1]  # the bias row does not decay
        if v is None and not decay and (self._pool is None or flat.size < self.parallel_min):
            np.subtract(flat, s, out=flat)  # plain SGD: one pass
            return
        self._share(lambda lo, hi, part: self._update_range(flat, s, v, momentum, nesterov, decay, weights_end,
                                                            lo, hi, self._scratch[part]), flat.size, flat.size)

    def _plan(self, i: int, a: np.ndarray, delta: np.ndarray, into_velocity: bool):
        """The BLAS call that adds ``a.T @ delta`` into layer ``i`` or its velocity, made once per batch size."""
        key = (i, len(a), into_velocity)
        if key not in self._plans:
            target = self.velocities[i] if into_velocity else self.layers[i]
            self._plans[key] = plan_at_b(a, delta, target)
        return self._plans[key]

    def _update_range(self, p: np.ndarray, s: np.ndarray, v: np.ndarray | None, momentum: float,
                      nesterov: bool, decay: float, weights_end: int, start: int, stop: int,
                      scratch: np.ndarray) -> None:
        """Elements ``start:stop`` of a flat layer take their step; several passes go chunk by chunk."""
        if v is None and not decay:
            np.subtract(p[start:stop], s[start:stop], out=p[start:stop])
            return
        for lo in range(start, stop, self.chunk):
            hi = min(lo + self.chunk, stop)
            pc, sc = p[lo:hi], s[lo:hi]
            tmp = scratch[:hi - lo]
            if decay and lo < weights_end:  # the L2 term's step, lr * decay * w, on weights only
                end = min(hi, weights_end) - lo
                np.multiply(pc[:end], decay, out=tmp[:end])
                sc[:end] += tmp[:end]
            if v is None:
                pc -= sc
                continue
            vc = v[lo:hi]
            vc *= momentum
            vc -= sc
            if nesterov:
                np.multiply(vc, momentum, out=tmp)
                pc += tmp
                pc -= sc
            else:
                pc += vc
