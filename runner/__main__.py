"""``python -m runner +exp=<name>`` (or ``runner +exp=<name>``): run an experiment.

See :mod:`runner.cli`. Both commands go through :func:`run`, so they exit alike.
"""

import logging
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # the runner computes on the CPU

from runner.cli import main  # noqa: E402


def run() -> None:
    """Run :func:`runner.cli.main` on ``sys.argv`` and exit with its status.

    A single run has written and closed its files by the time ``main`` returns, so
    it skips the slow teardown of JAX and of every module (about half a second).
    Sweeps exit normally, so that launchers (Ray, joblib) can stop their workers.

    Example:
        >>> from unittest import mock
        >>> with mock.patch.object(sys, "argv", ["runner", "-m", "+exp=nope"]):
        ...     try:
        ...         run()
        ...     except SystemExit as done:
        ...         print("exit status", done.code)
        exit status 2
    """
    code = main()
    if not {"-m", "--multirun"} & set(sys.argv[1:]):
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
