"""``runner --help`` and tab completion, answered without importing JAX.

``runner --help`` prints the runner's own page: the command forms, every
experiment with a one-line description (the shipped ones and those of
``--config-dir``), where outputs go and where the docs are. ``--hydra-help``
keeps Hydra's page. Tab completion (``eval "$(runner -sc install=bash)"``) is
Hydra's, given the ``--config-dir`` of the line being completed.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ..config.sources import experiments, search_dirs, shipped_dir

__all__ = ["complete", "help_text", "version_text", "wants_completion", "wants_help"]

_USAGE = """\
usage: runner [--config-dir DIR] +exp=NAME [KEY=VALUE ...]       run one experiment
       runner -m [--config-dir DIR] +exp=NAME KEY=A,B [...]       sweep: a job per point
       runner +exp=NAME --cfg job                                 print the config only
       runner --hydra-help                                        Hydra's own options
       runner --version                                           versions
(python -m runner ... is the same command.)

Examples:
  runner +exp=jacobian                            the tutorial's Jacobian of f1
  runner +exp=jacobian 'inputs.1=[1.0,2.0]'       ... at another input
  runner -m +exp=fitzhugh_nagumo_hopf model.current=0.0,0.5,1.0
  PYTHONPATH=. runner --config-dir mine +exp=mine 'allowed_targets=[mypkg.]'
"""


def _option(argv: Sequence[str], *names: str) -> str | None:
    """The value of the last ``--name VALUE`` or ``--name=VALUE`` in ``argv``."""
    found = None
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                found = argv[i + 1]
            elif arg.startswith(f"{name}="):
                found = arg.split("=", 1)[1]
    return found


def wants_help(argv: Sequence[str]) -> bool:
    """Whether ``argv`` asks for the runner's help page (``-h``, ``--help``).

    Example:
        >>> wants_help(["--help"]), wants_help(["--hydra-help"])
        (True, False)
    """
    return any(a in ("-h", "--help") for a in argv)


def version_text() -> str:
    """``runner --version``: this package's version, and Hydra's and JAX's.

    Example:
        >>> version_text().split()[0]
        'autodiff-runner'
    """
    from importlib import metadata

    found = []
    for name in ("autodiff-runner", "hydra-core", "jax"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"{found[0]} ({', '.join(found[1:])})\n"


def wants_completion(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is a shell-completion request (``-sc query=bash``, ...).

    Example:
        >>> wants_completion(["-sc", "query=bash"]), wants_completion(["+exp=grad"])
        (True, False)
    """
    return any(a in ("-sc", "--shell-completion") or a.startswith(
        "--shell-completion=") for a in argv)  # fmt: skip


def help_text(argv: Sequence[str]) -> str:
    """The runner's help page for the command line ``argv``.

    Example:
        >>> page = help_text(["--help"])
        >>> page.splitlines()[0].split()[:2]
        ['usage:', 'runner']
        >>> [line.split()[0] for line in page.splitlines() if "jacobian_sweep" in line]
        ['jacobian_sweep']
    """
    config_dir = _option(argv, "--config-dir", "-cd")
    found = experiments(search_dirs(config_dir))
    width = max((len(n) for n in found), default=4)
    shipped = shipped_dir()
    lines = [_USAGE, "Experiments (+exp=NAME):"]
    for name, exp in found.items():
        where = "" if shipped in exp.path.parents else f" [{exp.path}]"
        if exp.shadows is not None:
            where = f" [{exp.path}; replaces the shipped {name}]"
        lines.append(f"  {name:<{width}}  {exp.description}{where}")
    if config_dir is None:
        lines.append("  (add yours with --config-dir DIR: DIR/exp/NAME.yaml, "
                     "DIR/model/NAME.yaml)")  # fmt: skip
    docs = Path(__file__).resolve().parent / "docs"
    lines += [
        "",
        "Outputs: outputs/runs/<date>/<time>/ for a run, outputs/multirun/<date>/"
        "<time>/ for a sweep, under the working directory (hydra.run.dir=DIR, "
        "hydra.sweep.dir=DIR choose others): results.csv, results.parquet, "
        "run.json, summary.txt, results.png.",
        f"Docs: {docs if docs.is_dir() else 'README.md and docs/ of the project'}"
        " (experiments, sweeps, results, regression tests, trust, porting from "
        "BrainPy); the core's API: python -m pydoc runner.core.",
    ]
    return "\n".join(lines) + "\n"


def complete(argv: Sequence[str], out: TextIO | None = None) -> int:
    """Answer a shell-completion request, with the completed line's ``--config-dir``.

    Hydra's completion reads the line from ``COMP_LINE``; its ``--config-dir``
    (or ``-cd``) is added to the search path, so the user's experiments complete.

    Example:
        >>> import io
        >>> os.environ["COMP_LINE"] = "runner +exp=jacobian_s"
        >>> out = io.StringIO()
        >>> complete(["-sc", "query=bash"], out), out.getvalue().split()
        (0, ['+exp=jacobian_sweep'])
        >>> del os.environ["COMP_LINE"]
    """
    from contextlib import redirect_stdout

    from hydra.core.global_hydra import GlobalHydra

    from ..config.hydra_private import get_args_parser, main_hydra
    from ..config.schema import register
    from ..config.sources import MAIN, cli_searchpath

    args = get_args_parser().parse_args(list(argv))
    try:
        words = shlex.split(os.environ.get("COMP_LINE", ""))
    except ValueError:  # an open quote while typing
        words = os.environ.get("COMP_LINE", "").split()
    config_dir = args.config_dir or _option(words, "--config-dir", "-cd")
    if config_dir is not None and not Path(config_dir).is_dir():
        config_dir = None  # still being typed
    register()
    hydra = main_hydra(MAIN, config_dir, cli_searchpath(words))
    try:
        with redirect_stdout(out or sys.stdout):
            hydra.shell_completion(config_name="config", overrides=args.overrides)
    finally:
        GlobalHydra.instance().clear()
    return 0
