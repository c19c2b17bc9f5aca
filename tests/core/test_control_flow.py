"""Control flow that carries state, checked against pure-JAX twins and closed forms.

The reference model is a rate network, ``r <- tanh(W r + x)``, whose twin is one
``jax.lax.scan`` over ``r`` with ``W`` closed over. Every result of ``for_loop``,
``scan``, ``while_loop``, ``cond``, ``ifelse`` and ``make_loop`` is compared with
its twin (``jax.lax.scan``, ``while_loop``, ``cond``, ``switch``), with a closed
form or with finite differences: eagerly, under ``bm.jit`` and under the
derivative transforms.
"""

from __future__ import annotations

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import runner.core as bm

XS = jax.random.normal(jax.random.PRNGKey(1), (8, 3))
W0 = jax.random.normal(jax.random.PRNGKey(0), (3, 3)) * 0.5


class Rate(bm.Base):
    """``r <- tanh(W r + x)``; each step returns the new ``r``."""

    def __init__(self):
        super().__init__()
        self.W = bm.TrainVar(W0)
        self.r = bm.Variable(bm.zeros(3))
        self.calls = 0  # Python executions of ``step``

    def step(self, x):
        self.calls += 1
        self.r.value = bm.tanh(self.W @ self.r + x)
        return self.r.value

    def loss(self, xs, **options):
        self.r.value = bm.zeros(3)
        return bm.sum(bm.for_loop(self.step, xs, **options) ** 2)


def rate_twin(w, xs, r0=None, reverse=False):
    """``(final r, stacked r)`` of the rate network, by ``jax.lax.scan``."""

    def step(r, x):
        r = jnp.tanh(w @ r + x)
        return r, r

    r0 = jnp.zeros(3) if r0 is None else r0
    return jax.lax.scan(step, r0, xs, reverse=reverse)


def loss_twin(w, xs):
    return jnp.sum(rate_twin(w, xs)[1] ** 2)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# -- for_loop: values and state ------------------------------------------------------
@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("reverse", [False, True])
def test_for_loop_matches_the_scan_twin(jitted, reverse):
    model = Rate()
    run = lambda xs: bm.for_loop(model.step, xs, reverse=reverse)  # noqa: E731
    ys = (bm.jit(run) if jitted else run)(XS)
    final, twin_ys = rate_twin(W0, XS, reverse=reverse)
    close(ys, twin_ys)
    close(model.r, final)


def test_for_loop_unroll_and_remat_do_not_change_results():
    outs = []
    for unroll, remat in [(1, False), (3, False), (True, False), (2, True)]:
        model = Rate()
        outs.append(bm.for_loop(model.step, XS, unroll=unroll, remat=remat))
    for out in outs[1:]:
        close(out, outs[0])


def test_tuple_operands_are_unpacked_and_a_dict_is_passed_whole():
    total = bm.Variable(bm.zeros(()))

    def two(x, y):
        total.value += x * y
        return total.value

    a, b = jnp.arange(1.0, 5.0), jnp.arange(2.0, 6.0)
    close(bm.for_loop(two, (a, b)), jnp.cumsum(a * b))
    close(bm.for_loop(lambda d: d["a"] - d["b"], {"a": a, "b": b}), a - b)
    close(bm.for_loop(lambda x, y: x + y, [a, bm.Array(b)]), a + b)


def test_a_body_returning_nothing_gives_none_and_still_writes_state():
    model = Rate()

    def body(x):
        model.step(x)

    assert bm.for_loop(body, XS) is None
    close(model.r, rate_twin(W0, XS)[0])


def test_jit_false_runs_the_body_step_by_step():
    model = Rate()
    ys = bm.for_loop(model.step, XS, jit=False)
    assert model.calls == len(XS)  # one Python call per step, no tracing
    close(ys, rate_twin(W0, XS)[1])
    traced = Rate()
    bm.for_loop(traced.step, XS)
    assert traced.calls <= 2  # compiled: traced (and traced again for the carry)


@pytest.mark.parametrize("disable_jit", [False, True])
def test_zero_steps_without_jit_warn_and_leave_state_unchanged(disable_jit):
    model = Rate()
    model.r.value = jnp.ones(3)
    empty = jnp.zeros((0, 3))
    with pytest.warns(UserWarning, match=r"for_loop\(operands\).*length 0"):
        if disable_jit:
            with jax.disable_jit():
                ys = bm.for_loop(model.step, empty)
        else:
            ys = bm.for_loop(model.step, empty, jit=False)
    assert ys.shape == (0, 3) and model.calls <= 1  # at most one abstract trace
    close(model.r, jnp.ones(3))


def test_zero_steps_compiled_return_empty_outputs_without_warning():
    model = Rate()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ys = bm.for_loop(model.step, jnp.zeros((0, 3)))
    assert ys.shape == (0, 3)
    close(model.r, jnp.zeros(3))


def test_out_vars_history_in_their_structure():
    count = bm.Variable(bm.zeros(()))
    twice = bm.Variable(bm.zeros(()))

    def body(x):
        count.value += 1.0
        twice.value = 2.0 * count.value
        return x

    steps = jnp.arange(1.0, 5.0)
    hist, ys = bm.for_loop(body, jnp.zeros(4), out_vars={"n": count, "2n": twice})
    close(hist["n"], steps)
    close(hist["2n"], 2.0 * steps)
    close(ys, jnp.zeros(4))
    single, _ = bm.for_loop(body, jnp.zeros(2), out_vars=count, dyn_vars=[count])
    close(single, [5.0, 6.0])


@settings(max_examples=5, deadline=None)
@given(
    xs=st.integers(1, 4).flatmap(
        lambda n: hnp.arrays(np.float32, (n, 3), elements=st.floats(-2, 2, width=32))
    ),
    reverse=st.booleans(),
)
def test_property_for_loop_equals_the_twin_compiled_or_not(xs, reverse):
    compiled, stepwise = Rate(), Rate()
    ys = bm.for_loop(compiled.step, xs, reverse=reverse)
    close(bm.for_loop(stepwise.step, xs, reverse=reverse, jit=False), ys)
    final, twin_ys = rate_twin(W0, jnp.asarray(xs), reverse=reverse)
    close(ys, twin_ys)
    close(compiled.r, final)
    close(stepwise.r, final)


# -- for_loop: derivatives -----------------------------------------------------------
def test_grad_by_grad_vars_matches_the_twin_and_finite_differences():
    model = Rate()
    g = bm.grad(model.loss, grad_vars=model.W)(XS)
    close(g, jax.grad(loss_twin)(W0, XS))

    def loss_at(w):  # our loss, eagerly, at other weights
        model.W.value = w
        return float(model.loss(XS))

    eps, e = 1e-2, jnp.zeros((3, 3)).at[0, 1].set(1.0)
    fd = (loss_at(W0 + eps * e) - loss_at(W0 - eps * e)) / (2 * eps)
    close(g[0, 1], fd, tol=2e-3)  # central difference in W[0, 1]


def test_grad_by_argnums_and_both():
    model = Rate()
    gx = bm.grad(model.loss, argnums=0)(XS)
    close(gx, jax.grad(loss_twin, argnums=1)(W0, XS))
    gw, gx2 = bm.grad(model.loss, grad_vars=model.W, argnums=0)(XS)
    close(gw, jax.grad(loss_twin)(W0, XS))
    close(gx2, gx)


def test_jitted_grad_repeats_and_leaves_concrete_state():
    model = Rate()
    step = bm.jit(bm.grad(model.loss, grad_vars=model.W, return_value=True))
    want = jax.grad(loss_twin)(W0, XS), loss_twin(W0, XS)
    for _ in range(2):
        g, value = step(XS)
        close(g, want[0])
        close(value, want[1])
    assert not isinstance(model.r._value, jax.core.Tracer)
    close(model.r, rate_twin(W0, XS)[0])


@pytest.mark.parametrize(
    "ours, jax_twin",
    [
        (bm.jacrev, jax.jacrev),
        (bm.jacfwd, jax.jacfwd),
        (partial(bm.jacobian, mode="auto"), jax.jacrev),
        (bm.vector_grad, lambda f: jax.grad(lambda w: f(w).sum())),
        (lambda f, **kw: bm.hessian(lambda xs: f(xs).sum(), **kw),
         lambda f: jax.hessian(lambda w: f(w).sum())),
    ],
    ids=["jacrev", "jacfwd", "jacobian-auto", "vector_grad", "hessian"],
)  # fmt: skip
def test_every_derivative_of_the_final_state_matches_jax(ours, jax_twin):
    model = Rate()

    def final(xs):
        model.r.value = bm.zeros(3)
        bm.for_loop(model.step, xs)
        return model.r.value

    want = jax_twin(lambda w: rate_twin(w, XS)[0])(W0)
    close(ours(final, grad_vars=model.W)(XS), want, tol=1e-4)
    assert not isinstance(model.r._value, jax.core.Tracer)


def test_remat_gives_the_same_gradient_and_checkpoints_the_body():
    model = Rate()
    plain = bm.grad(model.loss, grad_vars=model.W)(XS)
    remat = bm.grad(lambda xs: model.loss(xs, remat=True), grad_vars=model.W)(XS)
    close(remat, plain)

    def pure(w):
        with bm.substitute([model.W, model.r], [w, jnp.zeros(3)]):
            return model.loss(XS, remat=True)

    assert "remat" in str(jax.make_jaxpr(jax.grad(pure))(W0))  # the checkpoint


# -- random state --------------------------------------------------------------------
def reference_draws(seed, n):
    key, out = jax.random.PRNGKey(seed), []
    for _ in range(n):
        key, sub = jax.random.split(key)
        out.append(jax.random.normal(sub, (2,)))
    return key, jnp.stack(out)


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_a_draw_inside_a_loop_advances_the_key(jitted):
    bm.random.seed(5)
    run = lambda xs: bm.for_loop(lambda x: bm.random.normal(size=2) + x, xs)  # noqa: E731
    run = bm.jit(run) if jitted else run
    first, second = run(jnp.zeros(3)), run(jnp.zeros(3))
    key, draws = reference_draws(5, 6)
    close(jnp.concatenate([first, second]), draws)
    assert bool((bm.random.DEFAULT.value == key).all())


def test_a_model_generator_in_a_loop_under_grad():
    rng = bm.random.RandomState(2)
    w = bm.TrainVar(jnp.asarray(1.5))

    def loss(xs):
        return bm.sum(bm.for_loop(lambda x: w * x + rng.normal(size=2), xs))

    g, value = bm.grad(loss, grad_vars=w, return_value=True)(jnp.arange(4.0))
    key, draws = reference_draws(2, 4)
    close(g, 12.0)  # d/dw sum_k sum_j (w x_k + e_kj) = 2 sum_k x_k
    close(value, 1.5 * 12.0 + draws.sum())
    assert bool((rng.value == key).all())


# -- scan ----------------------------------------------------------------------------
@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_scan_carries_both_the_carry_and_state(jitted):
    model = Rate()

    def body(total, x):
        r = model.step(x)
        return total + r.sum(), r.mean()

    run = lambda init, xs: bm.scan(body, init, xs, unroll=2)  # noqa: E731
    total, ys = (bm.jit(run) if jitted else run)(bm.Array(1.0), XS)
    final, rs = rate_twin(W0, XS)
    close(total, 1.0 + rs.sum())
    close(ys, rs.mean(axis=1))
    close(model.r, final)


def test_grad_through_scan_by_init_and_by_grad_vars():
    model = Rate()

    def loss(r0):
        carry, ys = bm.scan(lambda r, x: (bm.tanh(model.W @ r + x),) * 2, r0, XS)
        return bm.sum(ys**2) + bm.sum(carry)

    def twin(w, r0):
        carry, ys = rate_twin(w, XS, r0)
        return jnp.sum(ys**2) + jnp.sum(carry)

    r0 = jnp.full(3, 0.1)
    gw, gr = bm.grad(loss, grad_vars=model.W, argnums=0)(r0)
    close(gw, jax.grad(twin)(W0, r0))
    close(gr, jax.grad(twin, argnums=1)(W0, r0))


# -- while_loop ----------------------------------------------------------------------
@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_while_loop_matches_the_lax_twin(jitted):
    a = bm.Variable(bm.zeros(1))
    b = bm.Variable(bm.ones(1))

    def body(x, y):
        a.value += x
        b.value *= y
        return x + b[0], y + 1.0

    run = lambda: bm.while_loop(body, lambda x, y: x < 20.0, (1.0, 1.0))  # noqa: E731
    out = (bm.jit(run) if jitted else run)()

    def twin(c):
        x, y, a, b = c
        a, b = a + x, b * y
        return x + b[0], y + 1.0, a, b

    want = jax.lax.while_loop(lambda c: c[0] < 20.0, twin,
                              (1.0, 1.0, jnp.zeros(1), jnp.ones(1)))  # fmt: skip
    close(out, want[:2])
    close(a, want[2])
    close(b, want[3])


def test_while_loop_single_operand_and_none_keeps_operands():
    n = bm.Variable(bm.zeros((), dtype=jnp.int32))

    def count():
        n.value += 1

    assert bm.while_loop(lambda x: count(), lambda x: n < 5, 7.0) == 7.0
    assert int(n) == 5
    out = bm.while_loop(lambda x: x * 2, lambda x: x < 100, jnp.asarray(3))
    assert int(out) == 192  # closed form: 3 * 2**6
    assert bm.while_loop(lambda x, y: None, lambda x, y: n < 6, [1, 2]) == [1, 2]
    assert bm.while_loop(lambda x: (x + 1,), lambda x: x < 3, (0,)) == (3,)
    assert bm.while_loop(lambda x, y: [x + 1, y], lambda x, y: x < 3, [0, 5]) == [3, 5]


def test_while_loop_under_jacfwd_matches_the_closed_form():
    k = bm.Variable(bm.zeros(()))

    def f(x):
        k.value = bm.zeros(())

        def body(y):
            k.value += 1.0
            return y * y

        return bm.while_loop(body, lambda y: k < 3, x)

    # three squarings: f(x) = x**8, f'(x) = 8 x**7
    close(bm.jacfwd(f)(1.5), 8 * 1.5**7, tol=1e-4)
    close(bm.jit(bm.jacfwd(f))(1.5), 8 * 1.5**7, tol=1e-4)


@pytest.mark.parametrize("draw", [False, True], ids=["assign", "random draw"])
def test_a_cond_fun_that_writes_state_is_refused(draw):
    a = bm.Variable(bm.zeros(()))

    def cond_fun(x):
        if draw:
            bm.random.random()
        else:
            a.value += 1.0
        return x < 3

    with pytest.raises(ValueError, match=r"while_loop\(cond_fun\).*only read") as err:
        bm.while_loop(lambda x: x + 1, cond_fun, 0)
    assert err.value.argument == "cond_fun"
    assert float(a) == 0.0


def test_while_loop_argument_errors():
    with pytest.raises(TypeError, match=r"while_loop\(cond_fun\).*scalar boolean"):
        bm.while_loop(lambda x: x + 1, lambda x: x < 3, jnp.zeros(2))
    with pytest.raises(TypeError, match=r"while_loop\(body_fun\).*structure") as err:
        bm.while_loop(lambda x, y: (x,), lambda x, y: x < 3, (0, 0))
    assert err.value.argument == "body_fun"
    with pytest.raises(TypeError, match=r"while_loop\(cond_fun\): expected a callable"):
        bm.while_loop(lambda x: x, True, 0)


# -- cond ----------------------------------------------------------------------------
@pytest.mark.parametrize("pred", [True, False])
@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_cond_writes_the_state_of_the_branch_taken(pred, jitted):
    a = bm.Variable(bm.zeros(2))
    b = bm.Variable(bm.ones(2))

    def grow(x):
        a.value += x
        return a.value

    def shrink(x):
        b.value -= x
        return b.value

    run = lambda p, x: bm.cond(p, grow, shrink, x)  # noqa: E731
    out = (bm.jit(run) if jitted else run)(pred, 2.0)
    state = (jnp.zeros(2), jnp.ones(2))
    want = jax.lax.cond(pred, lambda s: (s[0] + 2.0, s[1]),
                        lambda s: (s[0], s[1] - 2.0), state)  # fmt: skip
    close(a, want[0])
    close(b, want[1])
    close(out, want[0] if pred else want[1])


def test_cond_operands_constants_and_gradient():
    assert float(bm.cond(True, lambda: 1.0, lambda: 2.0)) == 1.0  # () -> no argument
    assert float(bm.cond(False, 1.0, 2.0)) == 2.0  # constant branches
    assert float(bm.cond(True, lambda x, y: x - y, 0.0, (5.0, 3.0))) == 2.0
    close(bm.cond(False, jnp.zeros(2), lambda v: v * 2, bm.Array([1.0, 2.0])), [2, 4])
    f = lambda x: bm.cond(x > 1.0, lambda y: y**3, lambda y: -y, x)  # noqa: E731
    close(bm.grad(f)(2.0), 12.0)  # d/dx x**3 at 2
    close(bm.grad(f)(0.5), -1.0)
    with pytest.raises(TypeError, match=r"cond\(pred\): expected a scalar") as err:
        bm.cond(jnp.array([True, False]), 1.0, 2.0)
    assert err.value.argument == "pred"


# -- ifelse --------------------------------------------------------------------------
def grade_reference(a):
    return np.select([a > 10, a > 5, a > 2, a > 0], [1, 2, 3, 4], 5)


def grade(a):
    branches = [lambda _: 1, lambda _: 2, lambda _: 3, lambda _: 4, lambda _: 5]
    return bm.ifelse([a > 10, a > 5, a > 2, a > 0], branches, operands=a)


def test_ifelse_first_true_condition_wins():
    for a in [-3, 0, 1, 3, 5, 6, 11]:
        assert int(grade(a)) == grade_reference(a)
        # equal lengths: the last branch is the else, its condition unused
        same = bm.ifelse([a > 10, a > 5, a > 2, a > 0, False], [1, 2, 3, 4, 5])
        assert int(same) == grade_reference(a)
    assert int(bm.ifelse(True, [lambda: 7, lambda: 8])) == 7  # a bare bool


def test_ifelse_under_vmap_and_jit_matches_numpy():
    a = jnp.arange(-5, 15)
    np.testing.assert_array_equal(jax.vmap(grade)(a), grade_reference(np.asarray(a)))
    np.testing.assert_array_equal(bm.jit(jax.vmap(grade))(a),
                                  grade_reference(np.asarray(a)))  # fmt: skip


def test_ifelse_under_grad_matches_the_closed_form():
    def f(x):
        branches = [lambda x: x, lambda x: x**2, lambda x: x**4]
        return bm.ifelse((x >= 10, x >= 0), branches, operands=x)

    for x, want in [(11.0, 1.0), (9.0, 18.0), (-1.0, -4.0)]:
        close(bm.grad(f)(x), want)


def test_ifelse_carries_the_state_any_branch_writes():
    hits = bm.Variable(bm.zeros(3))

    def hit(i):
        def branch():
            hits[i] += 1.0
            return i

        return branch

    for x in [12.0, 3.0, -2.0, 4.0]:
        bm.jit(lambda x: bm.ifelse([x > 10, x > 0], [hit(0), hit(1), hit(2)]))(x)
    close(hits, [1.0, 2.0, 1.0])


def test_ifelse_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"ifelse\(branches\).*2 condition") as err:
        bm.ifelse([True, False], [1, 2, 3, 4])
    assert err.value.argument == "branches"
    with pytest.raises(TypeError, match=r"ifelse\(branches\): expected a list"):
        bm.ifelse(True, lambda: 1)
    with pytest.raises(TypeError, match=r"ifelse\(conditions\[1\]\)") as err:
        bm.ifelse([True, jnp.ones(2) > 0], [1, 2, 3])
    assert err.value.argument == "conditions"


# -- progress bar --------------------------------------------------------------------
@pytest.mark.parametrize("jit", [True, False])
def test_a_progress_bar_reports_without_changing_results(jit, capsys):
    model, plain = Rate(), Rate()
    bar = bm.ProgressBar(freq=4, desc="rate")
    ys = bm.for_loop(model.step, XS, jit=jit, progress_bar=bar)
    close(ys, bm.for_loop(plain.step, XS))
    close(model.r, plain.r)
    err = capsys.readouterr().err
    assert "rate: 4/8 (50%)" in err and "rate: 8/8 (100%)" in err
    assert "3/8" not in err


def test_progress_bar_bool_int_and_count(capsys):
    model = Rate()
    carry, _ = bm.scan(lambda c, x: (c + x, c), 0.0, jnp.ones(10), progress_bar=5)
    assert float(carry) == 10.0
    assert "5/10" in capsys.readouterr().err
    bm.for_loop(model.step, XS, progress_bar=True, reverse=True)
    assert "8/8 (100%)" in capsys.readouterr().err
    assert bm.ProgressBar(count=4).every(10) == 3
    assert bm.ProgressBar().every(1000) == 50


def test_progress_bar_under_grad_keeps_the_gradient():
    model = Rate()
    g = bm.grad(lambda xs: model.loss(xs, progress_bar=2, remat=True),
                grad_vars=model.W)(XS)  # fmt: skip
    close(g, jax.grad(loss_twin)(W0, XS))


@pytest.mark.parametrize(
    "build, error, match, argument",
    [
        (lambda: bm.for_loop(abs, XS, progress_bar="yes"), TypeError,
         r"for_loop\(progress_bar=\.\.\.\): expected a bool", "progress_bar"),
        (lambda: bm.scan(abs, 0, XS, progress_bar=0), ValueError,
         r"scan\(progress_bar=0\)", "progress_bar"),
        (lambda: bm.ProgressBar(freq=2, count=3), ValueError, "not both", "count"),
        (lambda: bm.ProgressBar(freq=1.5), TypeError, r"ProgressBar\(freq", "freq"),
        (lambda: bm.ProgressBar(desc=3), TypeError, r"ProgressBar\(desc", "desc"),
    ],
)  # fmt: skip
def test_progress_bar_errors(build, error, match, argument):
    with pytest.raises(error, match=match) as err:
        build()
    assert err.value.argument == argument


# -- errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, match, argument",
    [
        (lambda: bm.for_loop(3, XS), TypeError,
         r"for_loop\(body_fun\): expected a callable", "body_fun"),
        (lambda: bm.for_loop(abs, 3.0), ValueError,
         r"for_loop\(operands\).*scalar", "operands"),
        (lambda: bm.for_loop(abs, (XS, XS[:2])), ValueError,
         r"leading axes differ \(8, 2\)", "operands"),
        (lambda: bm.scan(abs, 0.0, ()), ValueError, "received no arrays", "operands"),
        (lambda: bm.for_loop(abs, [bm.Variable(XS)], XS), TypeError,
         r"for_loop\(reverse=\.\.\.\).*BrainPy 2\.1", "reverse"),
        (lambda: bm.for_loop(abs, XS, unroll=0), ValueError,
         r"for_loop\(unroll=0\)", "unroll"),
        (lambda: bm.scan(abs, 0, XS, remat="no"), TypeError,
         r"scan\(remat=\.\.\.\)", "remat"),
        (lambda: bm.for_loop(abs, XS, jit="no"), TypeError,
         r"for_loop\(jit=\.\.\.\)", "jit"),
        (lambda: bm.for_loop(abs, XS, dyn_vars=[XS]), TypeError,
         r"for_loop\(dyn_vars=\.\.\.\): entry 0", "dyn_vars"),
        (lambda: bm.for_loop(abs, XS, out_vars={"a": 1.0}), TypeError,
         r"for_loop\(out_vars=\.\.\.\)", "out_vars"),
        (lambda: bm.scan(lambda c, x: c, 0.0, XS), TypeError,
         r"scan\(body_fun\).*\(carry, y\) pair", "body_fun"),
        (lambda: bm.make_loop(abs, None, has_return=1), TypeError,
         r"make_loop\(has_return=\.\.\.\)", "has_return"),
    ],
)  # fmt: skip
def test_errors_name_the_argument_and_the_function(call, error, match, argument):
    with pytest.raises(error, match=match) as err:
        call()
    assert err.value.argument == argument


def test_an_array_made_in_a_body_and_kept_is_refused():
    kept = []
    with pytest.raises(TypeError, match=r"for_loop\(body_fun\).*still reachable"):
        bm.for_loop(lambda x: kept.append(bm.Variable(x)), jnp.arange(3.0))
    assert kept and isinstance(kept[0]._value, jax.core.Tracer)
    kept[0]._value = jnp.zeros(())  # the fixture checks that no tracer stays


def test_a_failing_body_restores_state():
    model = Rate()
    model.r.value = jnp.ones(3)

    def body(x):
        model.step(x)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        bm.for_loop(body, XS)
    close(model.r, jnp.ones(3))


class _Leaky(bm.Base):
    """BrainPy written the usual way: ``self.V += dV`` in the step."""

    def __init__(self):
        super().__init__()
        self.V = bm.Variable(bm.zeros(3))
        self.w = bm.TrainVar(bm.array([0.5, 1.0, 2.0]))

    def step(self, x):
        dV = -0.1 * self.V + self.w * x
        self.V += dV
        return self.V.value

    def run(self, xs):
        return (bm.for_loop(self.step, xs) ** 2).sum()


def _leaky_twin(w, xs):
    def step(v, x):
        v = v + (-0.1 * v + w * x)
        return v, v

    return (jax.lax.scan(step, jnp.zeros(3), xs)[1] ** 2).sum()


def test_an_in_place_update_of_a_variable_in_a_loop_matches_a_scan_twin():
    xs = np.linspace(0.0, 1.0, 40, dtype=np.float32)
    model = _Leaky()
    value = bm.jit(model.run)(bm.asarray(xs))
    np.testing.assert_allclose(value, _leaky_twin(model.w.value, xs), rtol=1e-6)
    _, final = jax.lax.scan(lambda v, x: (v + (-0.1 * v + model.w.value * x),) * 2,
                            jnp.zeros(3), xs)  # fmt: skip
    np.testing.assert_allclose(model.V.value, final[-1], rtol=1e-6)  # written back
    model.V.value = bm.zeros(3).value
    grad = bm.grad(model.run, grad_vars=model.w)(bm.asarray(xs))
    want = jax.grad(_leaky_twin)(model.w.value, xs)
    np.testing.assert_allclose(grad, want, rtol=1e-5)
