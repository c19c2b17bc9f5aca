"""The runner's error types: one line each, naming the config key at fault."""

from __future__ import annotations

import os
from contextvars import ContextVar

__all__ = [
    "ALLOW_HINT",
    "CheckError",
    "ConfigError",
    "ModelError",
    "RunnerError",
    "how_to_allow",
    "wants_traceback",
]

# How the interface in use allows a package's targets; the pytest plugin sets its
# own option for the duration of an experiment's run.
ALLOW_HINT: ContextVar[str] = ContextVar(
    "ALLOW_HINT",
    default="on the command line ('allowed_targets=[{package}.]') or in "
    "RUNNER_ALLOWED_TARGETS={package}.",
)


def how_to_allow(target: str) -> str:
    """How to allow the package of ``target`` with the interface in use.

    Example:
        >>> print(how_to_allow("mymodels.decay.Decay"))
        on the command line ('allowed_targets=[mymodels.]') or in ...=mymodels.
        >>> token = ALLOW_HINT.set("with --runner-allowed-targets {package}.")
        >>> how_to_allow("mymodels.Decay")
        'with --runner-allowed-targets mymodels.'
        >>> ALLOW_HINT.reset(token)
    """
    package = str(target).split(".")[0] or "mypkg"
    return ALLOW_HINT.get().format(package=package)


class RunnerError(Exception):
    """Base error of the runner's app layer.

    Example:
        >>> str(RunnerError("model: could not import 'runner.models.nope'"))
        "model: could not import 'runner.models.nope'"
    """


class ConfigError(RunnerError, ValueError):
    """A config value that cannot be used; the message starts with its key.

    Args:
        key: the config key, e.g. ``diff.argnums``.
        message: what was expected, what was found and how to fix it.

    Example:
        >>> err = ConfigError("diff.kind", "expected 'grad', ..., received 'grda'")
        >>> str(err)
        "diff.kind: expected 'grad', ..., received 'grda'"
        >>> err.key
        'diff.kind'
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class CheckError(ConfigError):
    """A numerical check that failed (``diff.check_tol``, ``output.fail_on_nonfinite``).

    Args:
        key: the option that asked for the check.
        message: what was found and how to proceed.

    Example:
        >>> str(CheckError("diff.check_tol", "relative error 0.1 exceeds 1e-06"))
        'diff.check_tol: relative error 0.1 exceeds 1e-06'
    """


class ModelError(RunnerError):
    """The model (or its method) raised while it was called; ``key`` is ``model``.

    Args:
        message: what the model raised and with which inputs.
        key: the config key of the code that raised: ``model`` or ``method``.

    Example:
        >>> err = ModelError("the model raised KeyError: 'w'")
        >>> str(err), err.key
        ("model: the model raised KeyError: 'w'", 'model')
    """

    def __init__(self, message: str, key: str = "model") -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def wants_traceback() -> bool:
    """Whether ``HYDRA_FULL_ERROR=1`` asks for the traceback of an error instead
    of its one line (Hydra's own switch, so one setting serves both).

    Example:
        >>> os.environ.pop("HYDRA_FULL_ERROR", None) and None
        >>> wants_traceback()
        False
    """
    return os.environ.get("HYDRA_FULL_ERROR") == "1"
