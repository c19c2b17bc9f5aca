"""``jacobian(mode=...)``: reverse, forward and auto give JAX's Jacobian."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm


def f(x, y):
    return jnp.concatenate([jnp.sin(x) * y.sum(), x**2, x])


X, Y = jnp.arange(3.0), jnp.linspace(0.0, 1.0, 50)


@pytest.mark.parametrize("mode", ["reverse", "forward", "auto"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_modes_equal_jax(mode, argnums):
    ours = bm.jacobian(f, argnums=argnums, mode=mode)(X, Y)
    want = jax.jacrev(f, argnums=argnums)(X, Y)
    for got, ref in zip(
        jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(want)
    ):
        np.testing.assert_allclose(got, ref, rtol=1e-6)


@jax.custom_vjp
def reverse_only(x):
    return jnp.sin(x)


reverse_only.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (jnp.cos(x) * g,))


def test_auto_picks_the_cheaper_mode():
    # A custom_vjp function has no forward mode: auto must use reverse mode when
    # inputs outnumber outputs, and forward mode (which fails here) otherwise.
    many_in = bm.jacobian(lambda x: reverse_only(x).sum(keepdims=True), mode="auto")
    np.testing.assert_allclose(many_in(X), [np.cos(X)], rtol=1e-6)
    few_in = bm.jacobian(lambda x: jnp.tile(reverse_only(x), 4), mode="auto")
    with pytest.raises(TypeError, match="forward-mode"):
        few_in(X)


def test_auto_writes_state_once():
    class M(bm.Base):
        def __init__(self):
            super().__init__()
            self.w = bm.Variable(bm.ones(3))

        def __call__(self, x):
            self.w.value = self.w * 2
            return self.w * x

    m = M()
    jac = bm.jacobian(m, argnums=0, mode="auto")(jnp.ones(3))
    np.testing.assert_allclose(jac, 2 * np.eye(3))  # d/dx (2w * x) = diag(2w)
    np.testing.assert_allclose(
        m.w.value, [2.0, 2.0, 2.0]
    )  # the abstract trace wrote nothing


def test_unknown_mode():
    with pytest.raises(ValueError, match=r"jacobian\(mode='sideways'\).*'auto'"):
        bm.jacobian(f, mode="sideways")
