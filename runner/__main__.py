"""``python -m runner +exp=<name>`` (or ``runner +exp=<name>``): run an experiment.

See :mod:`runner.app.cli`. Both commands go through :func:`run`, so they exit alike.
"""

import logging
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # the runner computes on the CPU

from runner.app.usage import (  # noqa: E402
    complete,
    help_text,
    version_text,
    wants_completion,
    wants_help,
)


def run() -> None:
    """Run :func:`runner.app.cli.run_main` on ``sys.argv`` and exit with its status.

    When exactly one job ran, in this process and in Hydra's RUN mode, its files
    are written and closed by the time ``run_main`` returns, so the process skips
    the slow teardown of JAX and of every module (about half a second). Anything
    else (``-m``, ``hydra.mode=MULTIRUN``, an error) exits normally, so that
    launchers (Ray, joblib) can stop their workers.

    Example:
        >>> from unittest import mock
        >>> with mock.patch.object(sys, "argv", ["runner", "-m", "+exp=nope"]):
        ...     try:
        ...         run()
        ...     except SystemExit as done:
        ...         print("exit status", done.code)
        exit status 2
    """
    argv = sys.argv[1:]
    if wants_help(argv):  # the runner's page; --hydra-help gives Hydra's
        sys.stdout.write(help_text(argv))
        sys.exit(0)
    if argv == ["--version"]:  # this package's version; Hydra's page has its own
        sys.stdout.write(version_text())
        sys.exit(0)
    if wants_completion(argv):  # answered without importing JAX
        sys.exit(complete(argv))
    from runner.app.cli import run_main

    code, single_run = run_main(argv)
    if single_run:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
