"""Choosing the JAX platform."""

from __future__ import annotations

import jax

__all__ = ["set_platform"]

_PLATFORMS = ("cpu", "gpu", "tpu")


def set_platform(platform: str) -> None:
    """Run later computations on ``platform`` (``'cpu'``, ``'gpu'`` or ``'tpu'``).

    Call it before the first computation; afterwards JAX keeps its first choice.

    Args:
        platform: the platform name.

    Raises:
        ValueError: an unknown platform name.

    Example:
        >>> import runner.core as bm
        >>> bm.set_platform("cpu")
    """
    if platform not in _PLATFORMS:
        raise ValueError(
            f"set_platform(platform={platform!r}): expected one of {_PLATFORMS}; "
            f"pass e.g. 'cpu'."
        )
    jax.config.update("jax_platforms", platform)
