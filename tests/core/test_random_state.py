"""Random state under transforms: fresh draws per call, no tracer left in the key,
repeatable with a seed, and the same numbers as eager draws and as pure JAX with
the same key sequence.

The pure-JAX reference of ``n`` draws after ``seed(s)``: start from
``jax.random.PRNGKey(s)``; each draw does ``key, sub = split(key)`` and draws with
``sub``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm
from runner.core.random import RandomState

DRAWS = {
    "random": (lambda r: r.random(3), lambda k: jax.random.uniform(k, (3,))),
    "normal": (
        lambda r: r.normal(1.0, 2.0, 3),
        lambda k: jax.random.normal(k, (3,)) * 2.0 + 1.0,
    ),
    "uniform": (
        lambda r: r.uniform(-1.0, 1.0, 3),
        lambda k: jax.random.uniform(k, (3,), minval=-1.0, maxval=1.0),
    ),
    "randint": (
        lambda r: r.randint(0, 9, 3),
        lambda k: jax.random.randint(k, (3,), 0, 9),
    ),
    "bernoulli": (
        lambda r: r.bernoulli(0.5, 3),
        lambda k: jax.random.bernoulli(k, 0.5, (3,)),
    ),
    "permutation": (lambda r: r.permutation(5), lambda k: jax.random.permutation(k, 5)),
}


def reference_keys(seed: int, n: int) -> list[jax.Array]:
    key, subs = jax.random.PRNGKey(seed), []
    for _ in range(n):
        key, sub = jax.random.split(key)
        subs.append(sub)
    return subs


def concrete(array) -> bool:
    return isinstance(array._value, jax.Array) and not isinstance(
        array._value, jax.core.Tracer
    )


@pytest.fixture
def default():
    """The default generator, seeded 11; its key is concrete again afterwards."""
    bm.random.seed(11)
    yield bm.random.DEFAULT
    assert concrete(bm.random.DEFAULT)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_jit_draws_fresh_numbers_equal_to_eager_and_pure_jax(name, default):
    draw, twin = DRAWS[name]
    step = bm.jit(lambda: draw(bm.random))
    jitted = [np.asarray(step()) for _ in range(3)]
    bm.random.seed(11)
    eager = [np.asarray(draw(bm.random)) for _ in range(3)]
    pure = [np.asarray(twin(k)) for k in reference_keys(11, 3)]
    for a, b, c in zip(jitted, eager, pure):
        np.testing.assert_array_equal(b, c)
        # Compiled, ``z * 2 + 1`` may fuse into one rounding: equal up to an ulp.
        np.testing.assert_allclose(a.astype(float), c.astype(float), rtol=1e-6)
    assert not np.array_equal(jitted[0], jitted[1])


def test_a_fixed_seed_gives_byte_identical_runs(default):
    def run() -> bytes:
        bm.random.seed(5)
        model = Rate()
        step = bm.jit(model.step)
        return b"".join(np.asarray(step(0.5)).tobytes() for _ in range(4))

    assert run() == run()


def test_seed_without_argument_is_fresh(default):
    bm.random.seed()
    a = np.asarray(bm.random.random(4))
    bm.random.seed()
    assert not np.array_equal(a, np.asarray(bm.random.random(4)))


def test_functions_that_never_draw_do_not_carry_the_key(default):
    w = bm.Variable(jnp.ones(2))
    step = bm.jit(lambda x: w * x)
    step(2.0)
    assert all(s is not default for s in step.known_states())
    noisy = bm.jit(lambda x: w * x + bm.random.normal(size=2))
    noisy(2.0)
    assert any(s is default for s in noisy.known_states())


@pytest.mark.parametrize("kind", ["grad", "vector_grad", "jacrev", "jacfwd", "hessian"])
def test_derivatives_draw_fresh_numbers_and_write_the_key_back(kind, default):
    # f(x) = sum(x^2 * z) with z ~ N(0, 1): gradient 2 x z, Hessian diag(2 z).
    def f(x):
        return bm.sum(x**2 * bm.random.normal(size=2))

    transform = getattr(bm, kind)(f)
    x = jnp.array([1.0, -2.0])
    outs = [np.asarray(transform(x)) for _ in range(2)]
    for out, key in zip(outs, reference_keys(11, 2)):
        z = np.asarray(jax.random.normal(key, (2,)))
        ref = np.diag(2 * z) if kind in ("jacrev", "jacfwd", "hessian") else 2 * x * z
        if kind in ("jacrev", "jacfwd"):
            ref = 2 * np.asarray(x) * z  # the output is a scalar: a gradient
        np.testing.assert_allclose(out, ref, rtol=1e-6)


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_jacobian_of_a_noisy_function_under_jit(mode, default):
    # d(x * u)/dx = diag(u) for u ~ U(0, 1).
    jac = bm.jit(bm.jacobian(lambda x: x * bm.random.uniform(size=2), mode=mode))
    first, second = jac(jnp.ones(2)), jac(jnp.ones(2))
    for out, key in zip((first, second), reference_keys(11, 2)):
        u = np.asarray(jax.random.uniform(key, (2,)))
        np.testing.assert_array_equal(np.asarray(out), np.diag(u))


def test_jacobian_auto_eagerly_leaves_a_concrete_key(default):
    jac = bm.jacobian(lambda x: x * bm.random.uniform(size=2), mode="auto")
    a, b = jac(jnp.ones(2)), jac(jnp.ones(2))
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    assert concrete(default)
    bm.random.uniform()  # later draws work


class Rate(bm.Base):
    """A noisy rate model with its own generator."""

    def __init__(self):
        super().__init__()
        self.rng = RandomState(3)
        self.r = bm.Variable(jnp.zeros(4))

    def step(self, drive):
        self.r += 0.1 * (-self.r + drive) + 0.05 * self.rng.normal(size=4)
        return self.r.value


def test_a_model_generator_is_found_from_the_owner_and_matches_pure_jax():
    model = Rate()
    step = bm.jit(model.step)
    out = [np.asarray(step(0.5)) for _ in range(3)]
    r = jnp.zeros(4)
    for got, key in zip(out, reference_keys(3, 3)):
        r = r + 0.1 * (-r + 0.5) + 0.05 * jax.random.normal(key, (4,))
        np.testing.assert_allclose(got, np.asarray(r), rtol=1e-6, atol=1e-7)
    assert concrete(model.rng)
    assert any(v is model.rng for v in model.vars().values())


def test_key_argument_draws_without_touching_the_state():
    rng = RandomState(0)
    before = np.asarray(rng)
    key = jax.random.PRNGKey(9)
    np.testing.assert_array_equal(
        np.asarray(rng.normal(size=2, key=key)), jax.random.normal(key, (2,))
    )
    np.testing.assert_array_equal(np.asarray(rng), before)
    # With an explicit key a draw also works under a raw JAX transform.
    out = jax.jit(lambda k: rng.uniform(size=2, key=k).value)(key)
    np.testing.assert_array_equal(np.asarray(out), jax.random.uniform(key, (2,)))


def test_a_draw_under_a_raw_jax_transform_is_refused(default):
    before = np.asarray(default)
    with pytest.raises(TypeError, match=r"RandomState\.value: .*pass key="):
        jax.jit(lambda: bm.random.normal().value)()
    np.testing.assert_array_equal(np.asarray(default), before)


def test_vmap_with_substitute_threads_the_key():
    # The generator is an explicit input and output of a pure function: each call
    # gets fresh numbers once the new key is stored, and nothing is left traced.
    rng = RandomState(4)
    gain = bm.Variable(jnp.ones(()))

    def point(key, g):
        with bm.substitute([rng, gain], [key, g]):
            out = gain * rng.normal(size=2)
            return out, rng.value

    compiled = jax.jit(jax.vmap(point, in_axes=(None, 0), out_axes=(0, None)))
    gains = jnp.array([1.0, 2.0, 3.0])
    first, rng.value = compiled(rng.value, gains)
    second, rng.value = compiled(rng.value, gains)
    for out, key in zip((first, second), reference_keys(4, 2)):
        z = np.asarray(jax.random.normal(key, (2,)))
        np.testing.assert_allclose(np.asarray(out), np.outer(gains, z), rtol=1e-6)
    assert concrete(rng) and concrete(gain)


def test_loc_and_scale_arrays_give_independent_draws(default):
    out = np.asarray(bm.random.normal(jnp.zeros(3), 1.0))
    assert out.shape == (3,) and len(set(out.tolist())) == 3
    assert bm.random.uniform(jnp.zeros((2, 1)), jnp.ones(3)).shape == (2, 3)


@pytest.mark.parametrize("bad", [1.5, "0", jnp.zeros(3, jnp.uint32)])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(TypeError, match=r"RandomState\(seed_or_key=\.\.\.\): expected"):
        RandomState(bad)


def test_a_typed_key_is_accepted():
    key = jax.random.key(2)
    rng = RandomState(key)
    np.testing.assert_array_equal(np.asarray(rng), jax.random.key_data(key))
