"""enable_x64 / disable_x64: default precision of new Arrays, derivatives in float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm


@pytest.fixture
def x64():
    bm.enable_x64()
    try:
        yield
    finally:
        bm.disable_x64()
    assert not jax.config.jax_enable_x64


def test_new_arrays_are_64_bit_then_32_bit_again(x64):
    assert bm.array([1.0]).dtype == jnp.float64
    assert bm.arange(3).dtype == jnp.int64
    assert bm.random.normal(size=2).dtype == jnp.float64
    bm.disable_x64()
    assert bm.array([1.0]).dtype == jnp.float32
    assert bm.arange(3).dtype == jnp.int32


def test_a_float64_gradient_matches_central_differences(x64):
    # d/dx sum(sin(x) * x) = cos(x) x + sin(x); step 1e-6 is accurate to ~1e-10 in
    # float64, far beyond what float32 could give.
    w = bm.Variable(jnp.array([0.3, -1.2, 2.0]))

    def f():
        return bm.sum(bm.sin(w) * w)

    g = bm.jit(bm.grad(f, grad_vars=w))()
    assert g.dtype == jnp.float64
    x, h = np.asarray(w), 1e-6
    numeric = [
        (
            np.sum(np.sin(x + h * e) * (x + h * e))
            - np.sum(np.sin(x - h * e) * (x - h * e))
        )
        / (2 * h)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(np.asarray(g), numeric, rtol=1e-8)


def test_existing_float32_state_keeps_its_dtype(x64):
    v = bm.Variable(np.zeros(2, np.float32))
    v += 1.0  # a Python float is weakly typed: the result stays float32
    assert v.dtype == jnp.float32
    with pytest.raises(TypeError, match=r"Variable \+=: expected dtype float32"):
        v += jnp.ones(2)  # float64 now
