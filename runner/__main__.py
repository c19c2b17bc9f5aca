"""``python -m runner +exp=<name>``: run an experiment (see :mod:`runner.cli`)."""

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # the runner computes on the CPU

from runner.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
