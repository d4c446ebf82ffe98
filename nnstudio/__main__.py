"""``python -m nnstudio``: open the training dashboard."""

import sys

from nnstudio.gui.app import main

sys.exit(main())
