"""``python -m runner +exp=<name>``: run an experiment (see :mod:`runner.cli`)."""

import logging
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # the runner computes on the CPU

from runner.cli import main  # noqa: E402

if __name__ == "__main__":
    code = main()
    if not {"-m", "--multirun"} & set(sys.argv[1:]):
        # A single run has written and closed its files by now: skip the slow
        # teardown of JAX and of every module (about half a second). Sweeps exit
        # normally, so that launchers (Ray, joblib) can stop their workers.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
