"""Array functions: creation gives bm.Array, math gives jax.Array; Arrays anywhere."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm
from runner.core._numpy import CREATION, MATH

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -3.0]], dtype=np.float32)

CREATION_CALLS = {
    "array": (([1.0, 2.0],), {}),
    "asarray": (([1, 2, 3],), {}),
    "zeros": (((2, 3),), {}),
    "ones": ((4,), {"dtype": jnp.int32}),
    "full": (((2,), 7.0), {}),
    "empty": ((3,), {}),
    "eye": ((3,), {"k": 1}),
    "identity": ((2,), {}),
    "arange": ((1.0, 4.0, 0.5), {}),
    "linspace": ((0.0, 1.0, 5), {}),
    "logspace": ((0.0, 2.0, 3), {}),
    "zeros_like": ((X,), {}),
    "ones_like": ((X,), {}),
    "full_like": ((X, 2.5), {}),
    "empty_like": ((X,), {}),
}


def test_every_creation_function_is_covered():
    assert set(CREATION_CALLS) == set(CREATION)


@pytest.mark.parametrize("name", sorted(CREATION_CALLS))
def test_creation_returns_a_mutable_array_equal_to_jnp(name):
    args, kwargs = CREATION_CALLS[name]
    out = getattr(bm, name)(*args, **kwargs)
    expected = getattr(jnp, name)(*args, **kwargs)
    assert type(out) is bm.Array
    assert out.shape == expected.shape and out.dtype == expected.dtype
    if not name.startswith("empty"):  # empty's contents are unspecified
        np.testing.assert_allclose(np.asarray(out), np.asarray(expected))


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "asarray", "array"])
def test_creation_accepts_arrays(name):
    source = bm.Variable(X)
    out = getattr(bm, name)(source)
    assert type(out) is bm.Array and out is not source
    np.testing.assert_array_equal(np.asarray(out).shape, X.shape)


def test_created_arrays_are_independent_state():
    a = bm.zeros(2)
    b = bm.asarray(a)
    b.value = jnp.ones(2)
    np.testing.assert_array_equal(np.asarray(a), [0.0, 0.0])


MATH_CALLS = {
    "dot": ((X, X.T), {}),
    "matmul": ((X, X.T), {}),
    "sum": ((X,), {"axis": 1}),
    "mean": ((X,), {}),
    "where": ((X > 0, X, 0.0), {}),
    "clip": ((X,), {"min": -1.0, "max": 1.0}),
    "einsum": (("ij,kj->ik", X, X), {}),
    "arctan2": ((X, X.T.T + 1.0), {}),
    "tensordot": ((X, X.T), {"axes": 1}),
    "reshape": ((X, (3, 2)), {}),
    "sin": ((X,), {}),
    "exp": ((X,), {}),
}


@pytest.mark.parametrize("name", sorted(MATH_CALLS))
def test_math_returns_a_plain_jax_array_equal_to_jnp(name):
    args, kwargs = MATH_CALLS[name]
    wrapped_args = tuple(bm.Array(a) if isinstance(a, np.ndarray) else a for a in args)
    out = getattr(bm, name)(*wrapped_args, **kwargs)
    expected = getattr(jnp, name)(*args, **kwargs)
    assert isinstance(out, jax.Array) and not isinstance(out, bm.Array)
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-6)


def test_math_accepts_arrays_in_lists_and_keywords():
    a, b = bm.Array(X), bm.Variable(2 * X)
    np.testing.assert_array_equal(
        np.asarray(bm.concatenate([a, b], axis=0)), np.concatenate([X, 2 * X])
    )
    np.testing.assert_array_equal(np.asarray(bm.stack((a, b))), np.stack([X, 2 * X]))
    np.testing.assert_allclose(
        np.asarray(bm.clip(a, min=bm.Array(-0.5), max=b)), np.clip(X, -0.5, 2 * X)
    )


@pytest.mark.parametrize("name", MATH)
def test_every_math_name_wraps_jnp(name):
    fn = getattr(bm, name)
    assert fn.__name__ == name
    assert f"jax.numpy.{name}" in fn.__doc__


def test_public_namespace_lists_the_functions():
    for name in (*CREATION, *MATH):
        assert name in bm.__all__
    assert bm.math is bm  # ``bp.math.<name>`` with ``bp = bm``


def test_math_inside_a_transform_sees_the_traced_value():
    # d/dx sum(sin(x) * x) = cos(x) * x + sin(x)
    out = bm.grad(lambda x: bm.sum(bm.sin(x) * x))(jnp.asarray(X))
    np.testing.assert_allclose(
        np.asarray(out), np.cos(X) * X + np.sin(X), rtol=1e-6, atol=1e-6
    )
