"""Speed of the Evaluate workspace's computations, on real MNIST with one BLAS thread.

    NNSTUDIO_DATA=../shared/mnist python benchmarks/evaluate_speed.py [--rounds 5] [--tsne-rounds 1]

Prints, for the seed's network shape (784-128-64-10) and for the bundled model (784-400-200-10):
evaluating the 10,000 test images (predictions, top-3, confusion matrix, per-digit figures,
coverage curve), each robustness curve on the fixed 2,000-image subset (from scratch, and again with
what does not depend on the network kept, as the Evaluate tab does after every epoch), and PCA and t-SNE of
2,000 points of a layer's activations. Each figure is the median over rounds of wall time.
Targets (issue 9): evaluation <= 0.3 s, each robustness curve <= 2 s, t-SNE of 2,000 points <= 15 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nnstudio.core.dataset import split_mnist
from nnstudio.core.evaluation import evaluate
from nnstudio.core.mnist import load_mnist, resolve_data_dir
from nnstudio.core.model_file import load_model
from nnstudio.core.network import Network
from nnstudio.core.projection import layer_activations, pca, tsne
from nnstudio.core.robustness import PERTURBATIONS, PerturbedImages, fixed_subset, robustness_curve
from nnstudio.resources import BUNDLED_MODEL


def timed(action, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def drain(generator):
    while True:
        try:
            next(generator)
        except StopIteration as done:
            return done.value


def five_nn(points: np.ndarray, labels: np.ndarray) -> float:
    d = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(d, np.inf)
    votes = labels[np.argpartition(d, 5, axis=1)[:, :5]]
    return float(np.mean([np.bincount(v, minlength=10).argmax() for v in votes] == labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tsne-rounds", type=int, default=1)
    args = parser.parse_args()
    split = split_mnist(load_mnist(resolve_data_dir()))
    networks = {"seed 784-128-64-10": Network((784, 128, 64, 10), seed=0),
                "bundled 784-400-200-10": load_model(BUNDLED_MODEL).network}
    subset = fixed_subset(len(split.y_test))
    x, y = split.x_test[subset], split.y_test[subset]
    with threadpool_limits(limits=1):
        for name, net in networks.items():
            print(f"== {name}")
            seconds = timed(lambda: evaluate(net, split.x_test, split.y_test).per_digit(), args.rounds)
            print(f"evaluate 10,000 test images        {seconds * 1000:7.0f} ms   (target <= 300 ms)")
            kept = PerturbedImages(x)  # as the Evaluate tab keeps it: filled by the first curves
            for kind, perturbation in PERTURBATIONS.items():
                seconds = timed(lambda: drain(robustness_curve(net, x, y, kind)), max(1, args.rounds // 2))
                drain(robustness_curve(net, kept, y, kind))
                again = timed(lambda: drain(robustness_curve(net, kept, y, kind)), max(1, args.rounds // 2))
                print(f"robustness curve {kind:10} ({len(perturbation.levels):2} levels) "
                      f"{seconds * 1000:7.0f} ms   (target <= 2000 ms); again, its images kept: {again * 1000:4.0f} ms")
            print(f"what the robustness curves keep of the 2,000 images: {kept.nbytes / 1e6:.1f} MB")
        net = networks["bundled 784-400-200-10"]
        for layer, label in ((0, "input pixels"), (2, "hidden layer 2")):
            activations = layer_activations(net, x, layer)
            seconds = timed(lambda: pca(activations), args.rounds)
            print(f"PCA of 2,000 points, {label:15}  {seconds * 1000:7.0f} ms")
            result = {}
            seconds = timed(lambda: result.setdefault("map", drain(tsne(activations))), args.tsne_rounds)
            print(f"t-SNE of 2,000 points, {label:15} {seconds:6.1f} s    (target <= 15 s), "
                  f"5-NN accuracy in the map {five_nn(result['map'], y):.3f}")


if __name__ == "__main__":
    main()
