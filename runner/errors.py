"""The runner's error types: one line each, naming the config key at fault."""

from __future__ import annotations

__all__ = ["ConfigError", "RunnerError"]


class RunnerError(Exception):
    """Base error of the runner's app layer.

    Example:
        >>> str(RunnerError("model: could not import 'models.nope'"))
        "model: could not import 'models.nope'"
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
