"""bm.random: returns bm.Array, shapes, ranges, seed repeatability."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm

DRAWS = {
    "random": (lambda: bm.random.random((2, 3)), (2, 3), jnp.float32),
    "rand": (lambda: bm.random.rand(4, 1), (4, 1), jnp.float32),
    "randn": (lambda: bm.random.randn(5), (5,), jnp.float32),
    "normal": (lambda: bm.random.normal(1.0, 2.0, (3, 2)), (3, 2), jnp.float32),
    "uniform": (lambda: bm.random.uniform(-1.0, 1.0, 6), (6,), jnp.float32),
    "randint": (lambda: bm.random.randint(2, 9, (2, 2)), (2, 2), jnp.int32),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_draws_are_arrays_of_the_requested_shape(name):
    draw, shape, dtype = DRAWS[name]
    out = draw()
    assert type(out) is bm.Array
    assert out.shape == shape and out.dtype == dtype


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_seed_makes_draws_repeat_and_successive_draws_differ(name):
    draw = DRAWS[name][0]
    bm.random.seed(123)
    first, second = draw(), draw()
    bm.random.seed(123)
    again_first, again_second = draw(), draw()
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again_first))
    np.testing.assert_array_equal(np.asarray(second), np.asarray(again_second))
    assert not np.array_equal(np.asarray(first), np.asarray(second))


def test_different_seeds_give_different_draws():
    bm.random.seed(1)
    a = np.asarray(bm.random.random(8))
    bm.random.seed(2)
    b = np.asarray(bm.random.random(8))
    assert not np.array_equal(a, b)


def test_default_size_is_a_scalar():
    assert bm.random.random().shape == ()
    assert bm.random.normal().shape == ()
    assert bm.random.uniform().shape == ()
    assert bm.random.randint(5).shape == ()


def test_ranges():
    bm.random.seed(0)
    u = np.asarray(bm.random.random(4000))
    assert u.min() >= 0.0 and u.max() < 1.0
    w = np.asarray(bm.random.uniform(2.0, 3.0, 4000))
    assert w.min() >= 2.0 and w.max() < 3.0
    k = np.asarray(bm.random.randint(3, size=4000))
    assert set(np.unique(k)) == {0, 1, 2}
    j = np.asarray(bm.random.randint(-2, 2, 4000))
    assert set(np.unique(j)) == {-2, -1, 0, 1}


def test_moments_with_a_fixed_seed():
    # 20000 draws: the sample mean is within 5 standard errors of the truth.
    bm.random.seed(7)
    n = 20000
    u = np.asarray(bm.random.random(n))
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    z = np.asarray(bm.random.normal(3.0, 2.0, n))
    assert abs(z.mean() - 3.0) < 5 * 2.0 / np.sqrt(n)
    assert abs(z.std() - 2.0) < 0.05
    s = np.asarray(bm.random.randn(n))
    assert abs(s.mean()) < 5 / np.sqrt(n)


def test_normal_with_zero_scale_is_loc():
    np.testing.assert_array_equal(np.asarray(bm.random.normal(1.5, 0.0, 3)), [1.5] * 3)


@pytest.mark.parametrize("bad", [1.0, "0", True, jnp.zeros(3, jnp.uint32)])
def test_seed_rejects_non_ints(bad):
    with pytest.raises(TypeError, match=r"random\.seed\(seed\): expected an int seed"):
        bm.random.seed(bad)


def test_drawn_arrays_can_be_grad_vars():
    # d/dw sum(w * x) = x
    bm.random.seed(3)
    w = bm.random.random(3)
    x = jnp.array([1.0, 2.0, 3.0])
    out = bm.grad(lambda: bm.sum(w * x), grad_vars=w)()
    np.testing.assert_array_equal(np.asarray(out), np.asarray(x))


def test_star_import_gives_every_public_name():
    # ``__all__`` must list each draw (a name left out is missing after import *).
    import runner.core.random as module

    defined_here = [getattr(obj, "__module__", None) for obj in vars(module).values()]
    own = [n for n, m in zip(vars(module), defined_here) if m == module.__name__]
    public = {name for name in own if not name.startswith("_")}
    assert public <= set(module.__all__)
    namespace: dict = {}
    exec("from runner.core.random import *", namespace)
    assert {"normal", "exponential", "permutation", "DEFAULT"} <= set(namespace)
