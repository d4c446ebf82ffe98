"""nnstudio: a desktop training dashboard for neural networks written from scratch in NumPy."""

__version__ = "0.2.0.dev0"  # the second edition, in progress (README: "Where 0.2 stands")
