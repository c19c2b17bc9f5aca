"""The models and functions of the autograd tutorial, as configs can name them.

Each takes an optional ``name`` so that variable paths are stable across runs. A
function or method whose inputs must have certain shapes says so in a plain
``input_shapes`` attribute (one entry per input), which the runner checks before
the call.

Example:
    >>> import runner.core as bm
    >>> from runner.models.tutorial import F
    >>> bm.grad(F(), grad_vars=[F().a])(10.0)  # a different F: gradient is zero
    [Array([0.], dtype=float32)]
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

import runner.core as bm


def linear(a: Any, b: Any) -> Any:
    """``a * 2 + b`` (the tutorial's first pure function).

    Example:
        >>> linear(2.0, 1.0)
        5.0
    """
    return a * 2 + b


def sin_product(a: Any, b: Any) -> Any:
    """``sin(b) * a`` elementwise (the tutorial's ``vector_grad`` function).

    Example:
        >>> sin_product(bm.ones(2), bm.zeros(2))
        Array([0., 0.], dtype=float32)
    """
    return bm.sin(b) * a


def f1(x: Any, y: Any) -> tuple[Any, Any]:
    """The tutorial's Jacobian example: 4 outputs of ``x`` (3) and ``y`` (2), aux ``a``.

    Example:
        >>> r, a = f1(bm.array([1.0, 2.0, 3.0]), bm.array([10.0, 5.0]))
        >>> r.shape, float(a)
        ((4,), 10.0)
    """
    a = 4 * x[1] ** 2 - 2 * x[2]
    r = jnp.asarray([x[0] * y[0], 5 * x[2] * y[1], a, x[2] * jnp.sin(x[0])])
    return r, a


# Read by the runner before the call: x has 3 elements and y 2 (JAX would clamp
# out-of-range indices of shorter inputs and return a plausible wrong result).
f1.input_shapes = ((3,), (2,))  # type: ignore[attr-defined]


class Linear(bm.Base):
    """A linear readout ``sum(w . x + b)`` with random ``w`` (1, n) and zero ``b``.

    Example:
        >>> l = Linear(n=3)
        >>> bm.grad(l.update, grad_vars=l.b)(bm.ones(3))
        Array([1.], dtype=float32)
    """

    def __init__(self, n: int = 10, name: str | None = None) -> None:
        super().__init__(name=name)
        self.w = bm.random.random((1, n))
        self.b = bm.zeros(1)

    def update(self, x: Any) -> Any:
        r = bm.dot(self.w, x) + self.b
        return r.sum()


class LinearAux(Linear):
    """:class:`Linear` that also returns ``(loss, dot)`` as aux data.

    Example:
        >>> l = LinearAux(n=2)
        >>> loss, (same, dot) = l.update(bm.zeros(2))
        >>> float(loss), dot.shape
        (0.0, (1,))
    """

    def update(self, x: Any) -> tuple[Any, Any]:  # type: ignore[override]
        dot = bm.dot(self.w, x)
        r = (dot + self.b).sum()
        return r, (r, dot)


class F(bm.Base):
    """``mean(2 a b + c)`` with TrainVars ``a`` and ``b`` (ones).

    Example:
        >>> f = F(name="F")
        >>> sorted(f.train_vars())
        ['F.a', 'F.b']
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.a = bm.TrainVar(bm.ones(1))
        self.b = bm.TrainVar(bm.ones(1))

    def __call__(self, c: Any) -> Any:
        ab2 = self.a * self.b * 2
        return (ab2 + c).mean()


class F2(F):
    """Like :class:`F`, but writes ``a <- 2 a b`` while computing.

    Example:
        >>> f2 = F2()
        >>> _ = f2(10.0)
        >>> f2.a
        TrainVar([2.], dtype=float32)
    """

    def __call__(self, c: Any) -> Any:
        ab = self.a * self.b * 2
        self.a.value = ab
        return (ab + c).mean()


class F3(F):
    """``mean(2 a b + c d)``: two arguments.

    Example:
        >>> float(F3()(10.0, 3.0))
        32.0
    """

    def __call__(self, c: Any, d: Any) -> Any:  # type: ignore[override]
        ab = self.a * self.b * 2
        return (ab + c * d).mean()


class F4(F):
    """``mean(a b + c)`` with aux ``(a b, 2 a b)``.

    Example:
        >>> loss, (ab, ab2) = F4()(10.0)
        >>> float(loss)
        11.0
    """

    def __call__(self, c: Any) -> tuple[Any, Any]:  # type: ignore[override]
        ab = self.a * self.b
        return (ab + c).mean(), (ab, ab * 2)


class Polynomial(bm.Base):
    """``x**2 + y**3 + 10`` elementwise in the plain Arrays ``x`` and ``y`` (ones).

    Example:
        >>> Polynomial(n=2)()
        Array([12., 12.], dtype=float32)
    """

    def __init__(self, n: int = 5, name: str | None = None) -> None:
        super().__init__(name=name)
        self.x = bm.ones(n)
        self.y = bm.ones(n)

    def __call__(self) -> Any:
        return self.x**2 + self.y**3 + 10

    __call__.input_shapes = ()  # type: ignore[attr-defined]


class Test(bm.Base):
    """The tutorial's Jacobian object: :func:`f1` with ``x`` held as a plain Array.

    Example:
        >>> r, (c, d) = Test()(bm.array([10.0, 5.0]))
        >>> r.tolist()[:3]
        [10.0, 75.0, 10.0]
    """

    def __init__(self, x: Any = (1.0, 2.0, 3.0), name: str | None = None) -> None:
        super().__init__(name=name)
        self.x = bm.array(list(x))

    def __call__(self, y: Any) -> tuple[Any, Any]:
        a = self.x[0] * y[0]
        b = 5 * self.x[2] * y[1]
        c = 4 * self.x[1] ** 2 - 2 * self.x[2]
        d = self.x[2] * jnp.sin(self.x[0])
        r = jnp.asarray([a, b, c, d])
        return r, (c, d)

    __call__.input_shapes = ((2,),)  # type: ignore[attr-defined]


def quadratic_form(x: Any, a: Any) -> Any:
    """``x^T A x``, whose Hessian in ``x`` is ``A + A^T``.

    Example:
        >>> float(quadratic_form(bm.ones(2), bm.eye(2)))
        2.0
    """
    return bm.dot(x, bm.dot(a, x))


quadratic_form.input_shapes = ((None,), (None, None))  # type: ignore[attr-defined]
