"""Stateful jit: tracing once per signature, write-back, composition, restoring state.

Trace counts are the number of Python executions of the user function, counted in
a plain Python attribute that tracing cannot see.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm


def is_concrete(value) -> bool:
    return isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer)


W0 = jnp.array([0.5, -1.0, 2.0])
B0 = jnp.array(0.25)
X0 = jnp.array([0.3, 0.7, -0.2])


def twin_loss(w, b, x):
    h = jnp.tanh(w * x + b)
    return jnp.sum(h * h)


class Net(bm.Base):
    def __init__(self):
        super().__init__()
        self.w = bm.TrainVar(W0)
        self.b = bm.TrainVar(B0)
        self.steps = bm.Variable(jnp.zeros(()))
        self.traces = 0

    def loss(self, x):
        self.traces += 1
        self.steps.value = self.steps + 1.0
        h = bm.tanh(self.w * x + self.b)
        return bm.sum(h * h)

    def sgd(self, x):
        self.traces += 1
        gw, gb = bm.grad(self.loss, grad_vars=(self.w, self.b))(x)
        self.w.value = self.w - 0.1 * gw
        self.b.value = self.b - 0.1 * gb
        return gw


def assert_all_concrete(*objects) -> None:
    for obj in objects:
        for path, array in bm.iter_arrays(obj):
            assert is_concrete(array._value), (path, type(array._value))


# -- tracing once ----------------------------------------------------------------------
def test_traces_once_per_input_signature():
    net = Net()
    loss = bm.jit(net.loss)
    for _ in range(4):
        loss(X0)
        assert_all_concrete(net)
    assert net.traces == 1
    loss(jnp.ones((2, 3)))  # a new shape
    assert net.traces == 2
    loss(X0 + 1.0)  # back to the first signature
    loss(jnp.ones(3, dtype=jnp.float32))
    assert net.traces == 2
    assert float(net.steps.value) == 7.0
    assert_all_concrete(net)


def test_jit_of_grad_traces_once_and_matches_jax():
    net = Net()
    step = bm.jit(bm.grad(net.loss, grad_vars=(net.w, net.b), return_value=True))
    for i in range(3):
        (gw, gb), value = step(X0 * (i + 1))
        rv, (rw, rb) = jax.value_and_grad(twin_loss, argnums=(0, 1))(
            W0, B0, X0 * (i + 1)
        )
        np.testing.assert_allclose(gw, rw, rtol=1e-6)
        np.testing.assert_allclose(gb, rb, rtol=1e-6)
        np.testing.assert_allclose(value, rv, rtol=1e-6)
        assert_all_concrete(net)
    assert net.traces == 1
    assert float(net.steps.value) == 3.0
    assert_all_concrete(net)


def test_jit_of_a_training_step_writes_back_like_eager():
    jitted_net, eager_net = Net(), Net()
    step = bm.jit(jitted_net.sgd)
    for i in range(4):
        x = X0 + 0.1 * i
        got = step(x)
        want = eager_net.sgd(x)
        np.testing.assert_allclose(got, want, rtol=1e-5)
        np.testing.assert_allclose(jitted_net.w.value, eager_net.w.value, rtol=1e-5)
        np.testing.assert_allclose(jitted_net.b.value, eager_net.b.value, rtol=1e-5)
        assert float(jitted_net.steps.value) == float(eager_net.steps.value) == i + 1
    assert eager_net.traces == 8  # sgd and loss ran on each of the 4 calls
    assert jitted_net.traces == 2  # sgd and loss ran once, while tracing
    assert_all_concrete(jitted_net)


def test_writes_persist_and_outside_changes_are_seen():
    net = Net()
    loss = bm.jit(net.loss)
    loss(X0)
    loss(X0)
    assert float(net.steps.value) == 2.0
    net.w.value = jnp.zeros(3)  # changed between calls, outside jit
    net.steps.value = 10.0
    np.testing.assert_allclose(loss(X0), twin_loss(jnp.zeros(3), B0, X0), rtol=1e-6)
    assert float(net.steps.value) == 11.0
    assert net.traces == 1


def test_returned_arrays_are_plain_values():
    v = bm.Variable(jnp.ones(2))

    def f(x):
        v.value = v * x
        return v, {"same": v}

    out, tree = bm.jit(f)(jnp.full(2, 3.0))
    for leaf in (out, tree["same"]):
        assert isinstance(leaf, jax.Array) and not isinstance(leaf, bm.Array)
        np.testing.assert_array_equal(leaf, [3.0, 3.0])
    np.testing.assert_array_equal(v.value, [3.0, 3.0])


# -- state found without an owner ------------------------------------------------------
GLOBAL_STATE = bm.Variable(jnp.zeros(()))


def _helper_reads_global():
    return GLOBAL_STATE.value


def test_closure_state_is_found_before_tracing():
    total = bm.Variable(jnp.zeros(()))
    runs = []

    def accumulate(x):
        runs.append(1)
        total.value = total + bm.sum(x)
        return total.value

    f = bm.jit(accumulate)
    for i in range(1, 4):
        assert float(f(jnp.ones(2))) == 2.0 * i
    assert len(runs) == 1


def test_state_met_only_while_tracing_joins_then_never_retraces():
    runs = []
    GLOBAL_STATE.value = 0.0

    def f(x):
        runs.append(1)
        return _helper_reads_global() + x

    jitted = bm.jit(f)
    assert float(jitted(1.0)) == 1.0
    first = len(runs)
    assert first <= 2  # one aborted trace that found the state, then the real one
    GLOBAL_STATE.value = 5.0
    assert float(jitted(1.0)) == 6.0  # read as an input, not baked in
    assert float(jitted(2.0)) == 7.0
    assert len(runs) == first


def test_callable_base_object_and_dyn_vars():
    class Acc(bm.Base):
        def __init__(self):
            super().__init__()
            self.s = bm.Variable(jnp.zeros(2))

        def __call__(self, x):
            self.s.value = self.s + x
            return self.s.value

    acc = Acc()
    f = bm.jit(acc, dyn_vars=acc.vars())
    f(jnp.ones(2))
    np.testing.assert_array_equal(f(jnp.ones(2)), [2.0, 2.0])
    np.testing.assert_array_equal(acc.s.value, [2.0, 2.0])


def test_static_arguments():
    net = Net()

    def scaled(x, power, *, shift):
        net.traces += 1
        return bm.sum(x**power) + shift

    f = bm.jit(scaled, static_argnums=1, static_argnames="shift")
    assert float(f(X0, 2, shift=1.0)) == pytest.approx(float(jnp.sum(X0**2)) + 1.0)
    f(X0 * 2, 2, shift=1.0)
    assert net.traces == 1
    f(X0, 3, shift=1.0)
    assert net.traces == 2


def test_nested_jit():
    net = Net()
    inner = bm.jit(net.loss)
    outer = bm.jit(lambda x: inner(x) * 2)
    for _ in range(3):
        np.testing.assert_allclose(outer(X0), 2 * twin_loss(W0, B0, X0), rtol=1e-6)
    assert net.traces == 1
    assert float(net.steps.value) == 3.0
    assert_all_concrete(net)


# -- composition with derivative transforms --------------------------------------------
def test_jacfwd_of_grad_is_the_hessian():
    net = Net()
    hess = bm.jacfwd(bm.grad(net.loss, grad_vars=net.w), grad_vars=net.w)
    np.testing.assert_allclose(
        hess(X0), jax.hessian(twin_loss)(W0, B0, X0), rtol=1e-5, atol=1e-6
    )
    assert float(net.steps.value) == 1.0
    assert_all_concrete(net)


def test_jacfwd_of_grad_equals_hessian_transform():
    net = Net()
    by_composition = bm.jacfwd(bm.grad(net.loss), argnums=0)(X0)
    by_hessian = bm.hessian(net.loss)(X0)
    reference = jax.hessian(twin_loss, argnums=2)(W0, B0, X0)
    np.testing.assert_allclose(by_composition, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(by_hessian, reference, rtol=1e-5, atol=1e-6)
    assert float(net.steps.value) == 2.0


def test_grad_of_jit():
    net = Net()
    gw = bm.grad(bm.jit(net.loss), grad_vars=net.w)(X0)
    np.testing.assert_allclose(gw, jax.grad(twin_loss)(W0, B0, X0), rtol=1e-6)
    assert float(net.steps.value) == 1.0
    assert_all_concrete(net)


def test_jit_of_jacobian_with_aux_and_value():
    net = Net()

    def features(x):
        net.steps.value = net.steps + 1.0
        h = bm.tanh(net.w * x + net.b)
        return h, h * 2

    f = bm.jit(bm.jacobian(features, grad_vars=net.b, has_aux=True, return_value=True))
    for _ in range(2):
        jac_b, value, aux = f(X0)
    h = jnp.tanh(W0 * X0 + B0)
    np.testing.assert_allclose(jac_b, 1 - h**2, rtol=1e-6)  # d tanh(u)/du = 1 - tanh^2
    np.testing.assert_allclose(value, h, rtol=1e-6)
    np.testing.assert_allclose(aux, 2 * h, rtol=1e-6)
    assert float(net.steps.value) == 2.0


# -- exceptions restore state ----------------------------------------------------------
class Boom(Exception):
    pass


@pytest.mark.parametrize(
    "wrap",
    [
        lambda f, net: bm.jit(f),
        lambda f, net: bm.grad(f),
        lambda f, net: bm.jit(bm.grad(f, grad_vars=net.w)),
        lambda f, net: bm.jacfwd(bm.grad(f), argnums=0),
        lambda f, net: bm.grad(bm.jit(f)),
    ],
    ids=["jit", "grad", "jit-grad", "jacfwd-grad", "grad-jit"],
)
def test_exception_inside_restores_every_value(wrap):
    net = Net()
    before = {k: v.value for k, v in net.vars().items()}

    def failing(x):
        net.steps.value = net.steps + 100.0
        net.w.value = net.w * x
        if True:
            raise Boom("inside the function")
        return bm.sum(x)

    with pytest.raises(Boom, match="inside the function"):
        wrap(failing, net)(X0)
    for key, var in net.vars().items():
        assert var.value is before[key], key
    assert_all_concrete(net)
    # The object still works afterwards.
    np.testing.assert_allclose(bm.jit(net.loss)(X0), twin_loss(W0, B0, X0), rtol=1e-6)


# -- arrays created while tracing ------------------------------------------------------
class Lazy(bm.Base):
    def __init__(self):
        super().__init__()
        self.w = bm.TrainVar(W0)

    def f(self, x):
        if not hasattr(self, "cache"):
            self.cache = bm.Variable(self.w * x)  # made on the first call only
        return bm.sum(self.cache * self.w)


# Eagerly, the first call stores cache = w * x1 and returns sum(w * x1 * w), whose
# gradient in w is 2 w x1; later calls return sum(cache * w), with gradient cache.
@pytest.mark.parametrize(
    "wrap, first_expected, second_expected",
    [
        (lambda m: bm.jit(m.f), jnp.sum(W0 * X0 * W0), jnp.sum(W0 * X0 * W0)),
        (lambda m: bm.grad(m.f, grad_vars=m.w), 2 * W0 * X0, W0 * X0),
        (lambda m: bm.jit(bm.grad(m.f, grad_vars=m.w)), 2 * W0 * X0, W0 * X0),
    ],
    ids=["jit", "grad", "jit-grad"],
)
def test_variables_made_inside_get_concrete_values_and_eager_semantics(
    wrap, first_expected, second_expected
):
    lazy = Lazy()
    f = wrap(lazy)
    np.testing.assert_allclose(f(X0), first_expected, rtol=1e-6)
    assert is_concrete(lazy.cache._value)
    np.testing.assert_allclose(lazy.cache.value, W0 * X0, rtol=1e-6)
    np.testing.assert_allclose(f(X0 * 3.0), second_expected, rtol=1e-6)
    np.testing.assert_allclose(lazy.cache.value, W0 * X0, rtol=1e-6)
    assert_all_concrete(lazy)


def test_jit_uses_the_stored_cache_on_later_calls():
    # Eager: the first call stores cache = w * x1; later calls compute sum(cache * w).
    lazy = Lazy()
    f = bm.jit(lazy.f)
    x1, x2 = X0, X0 * 3.0
    np.testing.assert_allclose(f(x1), jnp.sum(W0 * x1 * W0), rtol=1e-6)
    np.testing.assert_allclose(f(x2), jnp.sum(W0 * x1 * W0), rtol=1e-6)
    lazy.cache.value = jnp.ones(3)
    np.testing.assert_allclose(f(x2), jnp.sum(W0), rtol=1e-6)


def test_scalar_state_made_from_a_python_float_does_not_retrace():
    # bm.Variable(0.0) must not be weakly typed, or the strongly typed value that
    # the first call writes back would be a new jit signature.
    runs = []
    count = bm.Variable(0.0)

    def step(x):
        runs.append(1)
        count.value = count + x
        return count.value

    f = bm.jit(step)
    for _ in range(3):
        f(jnp.float32(1.0))
    assert len(runs) == 1 and float(count.value) == 3.0


# -- JAX transforms applied directly ------------------------------------------------
def test_raw_jax_transforms_may_not_leave_tracers_in_state():
    net = Net()
    before = {k: v.value for k, v in net.vars().items()}
    with pytest.raises(TypeError, match=r"Variable\.value: received a traced value"):
        jax.jit(net.loss)(X0)  # loss writes net.steps

    def remember(x):
        net.steps.value = bm.sum(x)  # a value that depends on the batched input
        return bm.sum(x * net.w)

    with pytest.raises(TypeError, match=r"outside the runner\.core transforms"):
        jax.vmap(bm.grad(remember))(jnp.stack([X0, X0]))
    with pytest.raises(TypeError, match=r"outside the runner\.core transforms"):
        jax.jit(bm.jit(net.loss))(X0)
    for key, var in net.vars().items():
        assert var.value is before[key], key


def test_raw_jax_transforms_of_read_only_functions_work():
    # Per-example gradients: d/dx twin_loss for each row, state untouched.
    net = Net()

    def read_only(x):
        h = bm.tanh(net.w * x + net.b)
        return bm.sum(h * h)

    xs = jnp.stack([X0, 2 * X0, -X0])
    per_example = jax.vmap(bm.grad(read_only))(xs)
    expected = jax.vmap(jax.grad(twin_loss, argnums=2), in_axes=(None, None, 0))(
        W0, B0, xs
    )
    np.testing.assert_allclose(per_example, expected, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(bm.jit(read_only))(X0), twin_loss(W0, B0, X0))
    assert_all_concrete(net)


@pytest.mark.parametrize(
    "call",
    [lambda f, x: f(x), lambda f, x: f(x=x), lambda f, x: f([x]),
     lambda f, x: f({"a": x})],
    ids=["positional", "keyword", "in a list", "in a dict"],
)  # fmt: skip
def test_arrays_passed_anywhere_are_inputs_by_value(call):
    def double(x):
        if isinstance(x, list):
            x = x[0]
        if isinstance(x, dict):
            x = x["a"]
        return x * 2.0

    x = bm.arange(3.0)
    got = call(bm.jit(double), x)
    want = jax.jit(double)(jnp.arange(3.0))  # the pure twin
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
