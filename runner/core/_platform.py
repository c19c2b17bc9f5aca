"""Choosing the JAX platform and the default float precision."""

from __future__ import annotations

import jax

__all__ = ["disable_x64", "enable_x64", "set_platform"]

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


def enable_x64() -> None:
    """Make 64-bit types the default (``float64``, ``int64``), as in NumPy.

    Arrays made afterwards from Python floats or with ``dtype=float`` are float64;
    existing Arrays keep their dtype (assignments must still match it).

    Example:
        >>> import runner.core as bm
        >>> bm.enable_x64()
        >>> bm.array([1.0]).dtype
        dtype('float64')
        >>> bm.disable_x64()
        >>> bm.array([1.0]).dtype
        dtype('float32')
    """
    jax.config.update("jax_enable_x64", True)


def disable_x64() -> None:
    """Go back to 32-bit default types (``float32``, ``int32``), JAX's default.

    Example:
        >>> import runner.core as bm
        >>> bm.disable_x64()
        >>> bm.arange(3).dtype
        dtype('int32')
    """
    jax.config.update("jax_enable_x64", False)
