"""Random numbers whose generator key is state: :class:`RandomState`.

A :class:`RandomState` is a :class:`~runner.core.Variable` holding a JAX key; every
draw splits it and writes the new key back through ``.value``. So the transforms
find it like any other state: under :func:`~runner.core.jit` each call draws fresh
numbers and the advanced key is written back, and a fixed seed still repeats a run
exactly. The module functions (``normal``, ``uniform``, ...) draw from one default
instance, ``DEFAULT``; a model may hold its own ``RandomState`` as an attribute.

Example:
    >>> import runner.core as bm
    >>> bm.random.seed(0)
    >>> a = bm.random.random(3)
    >>> bm.random.seed(0)
    >>> bool((a == bm.random.random(3)).all())
    True
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._state import Array, Variable, _make_unflatten, unwrap

# ``DEFAULT`` (the default generator) is made on first use by ``__getattr__``.
__all__ = [  # noqa: F822 (DEFAULT)
    "DEFAULT", "RandomState", "bernoulli", "exponential", "normal", "permutation",
    "rand", "randint", "randn", "random", "seed", "split_key", "standard_normal",
    "truncated_normal", "uniform",
]  # fmt: skip

Shape = int | Sequence[int] | None


def _shape(size: Shape, *params: Any) -> tuple[int, ...]:
    """``size`` as a tuple; without it, the broadcast shape of the parameters."""
    if size is None:
        return jnp.broadcast_shapes(*(np.shape(unwrap(p)) for p in params))
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    return tuple(int(s) for s in size)


def _new_key(seed_or_key: Any, where: str) -> jax.Array:
    """A concrete key from an int seed, a key array, or None (a fresh seed)."""
    if seed_or_key is None:
        seed_or_key = secrets.randbits(32)
    if isinstance(seed_or_key, (int, np.integer)) and not isinstance(seed_or_key, bool):
        with jax.ensure_compile_time_eval():
            return jax.random.PRNGKey(int(seed_or_key))
    key = unwrap(seed_or_key)
    if jnp.issubdtype(getattr(key, "dtype", None), jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    if getattr(key, "dtype", None) == jnp.uint32 and np.shape(key) == (2,):
        return jnp.asarray(key)
    raise TypeError(
        f"{where}: expected an int seed, a key of shape (2,) and dtype uint32, or "
        f"None (a fresh seed), received {type(seed_or_key).__name__} "
        f"{seed_or_key!r}; pass e.g. seed(0)."
    )


class RandomState(Variable):
    """A random generator whose key is a Variable, so transforms thread it.

    Every draw splits the key and writes the new key back, so two draws differ,
    and under ``bm.jit`` / ``bm.grad`` / ... the key is an input and an output of
    the compiled function: each call draws fresh numbers. Draws are plain
    :class:`~runner.core.Array` s. Every method takes ``key=``: draw with that key
    instead, leaving the state alone.

    Args:
        seed_or_key: an int seed, a uint32 key of shape (2,), or None for a fresh
            random seed.

    Example:
        >>> import runner.core as bm
        >>> class Noisy(bm.Base):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.rng = bm.random.RandomState(1)
        ...     def __call__(self):
        ...         return self.rng.normal(size=2)
        >>> step = bm.jit(Noisy())
        >>> bool((step() != step()).all())
        True
    """

    __slots__ = ()
    _write_hint = (
        " (every draw writes the key; inside a raw JAX transform pass key=..., "
        "e.g. from jax.random.split, or hold the key with bm.substitute)"
    )

    def __init__(self, seed_or_key: Any = None) -> None:
        super().__init__(_new_key(seed_or_key, "RandomState(seed_or_key=...)"))

    def seed(self, seed_or_key: Any = None) -> None:
        """Reset the key: an int seed, a key, or None for a fresh random seed.

        Example:
            >>> import runner.core as bm
            >>> rng = bm.random.RandomState()
            >>> rng.seed(3); a = rng.random(2)
            >>> rng.seed(3); bool((a == rng.random(2)).all())
            True
        """
        self.value = _new_key(seed_or_key, "RandomState.seed(seed_or_key=...)")

    def split_key(self) -> jax.Array:
        """Advance the state and return a new, independent key.

        Example:
            >>> import runner.core as bm
            >>> rng = bm.random.RandomState(0)
            >>> bool((rng.split_key() != rng.split_key()).any())
            True
        """
        state, sub = jax.random.split(self.value)
        self.value = state
        return sub

    def _key(self, key: Any) -> jax.Array:
        return self.split_key() if key is None else unwrap(key)

    def random(self, size: Shape = None, key: Any = None) -> Array:
        """Uniform floats in ``[0, 1)`` of shape ``size``.

        Example:
            >>> import runner.core as bm
            >>> bm.random.RandomState(0).random((1, 10)).shape
            (1, 10)
        """
        return Array(jax.random.uniform(self._key(key), _shape(size)))

    def rand(self, *shape: int, key: Any = None) -> Array:
        """Uniform floats in ``[0, 1)``; the shape is given as separate ints.

        Example:
            >>> import runner.core as bm
            >>> bm.random.RandomState(0).rand(2, 3).shape
            (2, 3)
        """
        return self.random(shape, key=key)

    def randn(self, *shape: int, key: Any = None) -> Array:
        """Standard normal floats; the shape is given as separate ints.

        Example:
            >>> import runner.core as bm
            >>> bm.random.RandomState(0).randn(4).shape
            (4,)
        """
        return self.standard_normal(shape, key=key)

    def standard_normal(self, size: Shape = None, key: Any = None) -> Array:
        """Standard normal floats of shape ``size``.

        Example:
            >>> import runner.core as bm
            >>> bm.random.RandomState(0).standard_normal((2, 2)).shape
            (2, 2)
        """
        return Array(jax.random.normal(self._key(key), _shape(size)))

    def normal(
        self, loc: Any = 0.0, scale: Any = 1.0, size: Shape = None, key: Any = None
    ) -> Array:
        """Normal floats with mean ``loc`` and standard deviation ``scale``.

        Without ``size`` the shape is that of ``loc`` and ``scale`` broadcast.

        Example:
            >>> import runner.core as bm
            >>> bm.random.RandomState(0).normal(1.0, 0.0, 2)
            Array([1., 1.], dtype=float32)
        """
        draw = jax.random.normal(self._key(key), _shape(size, loc, scale))
        return Array(draw * unwrap(scale) + unwrap(loc))

    def uniform(
        self, low: Any = 0.0, high: Any = 1.0, size: Shape = None, key: Any = None
    ) -> Array:
        """Uniform floats in ``[low, high)``.

        Example:
            >>> import runner.core as bm
            >>> bool((bm.random.RandomState(0).uniform(2.0, 3.0, 5) >= 2.0).all())
            True
        """
        low, high = unwrap(low), unwrap(high)
        shape = _shape(size, low, high)
        return Array(jax.random.uniform(self._key(key), shape, minval=low, maxval=high))

    def truncated_normal(
        self,
        lower: Any,
        upper: Any,
        size: Shape = None,
        loc: Any = 0.0,
        scale: Any = 1.0,
        key: Any = None,
    ) -> Array:
        """Normal floats (mean ``loc``, deviation ``scale``) within ``[lower, upper]``.

        Example:
            >>> import runner.core as bm
            >>> x = bm.random.RandomState(0).truncated_normal(-1.0, 1.0, 100)
            >>> bool((abs(x) <= 1.0).all())
            True
        """
        loc, scale = unwrap(loc), unwrap(scale)
        a, b = (unwrap(lower) - loc) / scale, (unwrap(upper) - loc) / scale
        shape = _shape(size, a, b, loc, scale)
        draw = jax.random.truncated_normal(self._key(key), a, b, shape)
        return Array(draw * scale + loc)

    def exponential(
        self, scale: Any = 1.0, size: Shape = None, key: Any = None
    ) -> Array:
        """Exponential floats with mean ``scale``.

        Example:
            >>> import runner.core as bm
            >>> bool((bm.random.RandomState(0).exponential(2.0, 5) >= 0).all())
            True
        """
        draw = jax.random.exponential(self._key(key), _shape(size, scale))
        return Array(draw * unwrap(scale))

    def bernoulli(self, p: Any = 0.5, size: Shape = None, key: Any = None) -> Array:
        """Booleans that are True with probability ``p``.

        Example:
            >>> import runner.core as bm
            >>> bm.random.RandomState(0).bernoulli(1.0, 3)
            Array([ True,  True,  True], dtype=bool)
        """
        p = unwrap(p)
        return Array(jax.random.bernoulli(self._key(key), p, _shape(size, p)))

    def randint(
        self,
        low: int,
        high: int | None = None,
        size: Shape = None,
        dtype: Any = int,
        key: Any = None,
    ) -> Array:
        """Integers in ``[low, high)`` (or ``[0, low)`` when ``high`` is None).

        Example:
            >>> import runner.core as bm
            >>> bool((bm.random.RandomState(0).randint(3, size=10) < 3).all())
            True
        """
        if high is None:
            low, high = 0, low
        low, high = unwrap(low), unwrap(high)
        shape = _shape(size, low, high)
        return Array(jax.random.randint(self._key(key), shape, low, high, dtype))

    def permutation(self, x: Any, key: Any = None) -> Array:
        """A shuffled copy of ``x`` (along axis 0), or of ``arange(x)`` for an int.

        Example:
            >>> import runner.core as bm
            >>> sorted(bm.random.RandomState(0).permutation(4).tolist())
            [0, 1, 2, 3]
        """
        return Array(jax.random.permutation(self._key(key), unwrap(x)))


jax.tree_util.register_pytree_node(
    RandomState, lambda r: ((r._value,), None), _make_unflatten(RandomState)
)

_DEFAULT: list[RandomState] = []


def _default() -> RandomState:
    """The default generator, made (seed 0) at the first draw rather than at import,
    so that importing this package starts no JAX backend.
    """
    if not _DEFAULT:
        rng = object.__new__(RandomState)  # made outside any trace's bookkeeping
        rng._value = _new_key(0, "seed")
        _DEFAULT.append(rng)
    return _DEFAULT[0]


def __getattr__(name: str) -> Any:
    if name == "DEFAULT":
        return _default()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def seed(seed: Any = None) -> None:
    """Reset the default generator; later draws repeat. None: a fresh random seed.

    Args:
        seed: an int, a uint32 key of shape (2,), or None.

    Raises:
        TypeError: ``seed`` is none of these.

    Example:
        >>> import runner.core as bm
        >>> bm.random.seed(42)
        >>> a = bm.random.normal(size=2)
        >>> bm.random.seed(42)
        >>> bool((a == bm.random.normal(size=2)).all())
        True
        >>> bm.random.seed()  # a fresh seed
    """
    _default().value = _new_key(seed, "random.seed(seed)")


def _on_default(name: str) -> Any:
    method = getattr(RandomState, name)

    def function(*args: Any, **kwargs: Any) -> Any:
        return method(_default(), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = method.__doc__
    function.__wrapped__ = method  # type: ignore[attr-defined]
    return function


split_key = _on_default("split_key")
random = _on_default("random")
rand = _on_default("rand")
randn = _on_default("randn")
standard_normal = _on_default("standard_normal")
normal = _on_default("normal")
uniform = _on_default("uniform")
truncated_normal = _on_default("truncated_normal")
exponential = _on_default("exponential")
bernoulli = _on_default("bernoulli")
randint = _on_default("randint")
permutation = _on_default("permutation")
