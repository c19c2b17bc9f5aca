"""``python -m runner.sweep SWEEP_DIR``: gather a (partial) sweep by hand.

The entry point of :func:`runner.app.sweep.main`.
"""

import sys

from runner.app.sweep import main

if __name__ == "__main__":
    sys.exit(main())
