"""``python -m nnstudio.train``: the same as ``nnstudio-train``."""

import sys

from nnstudio.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
