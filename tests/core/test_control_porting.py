"""BrainPy's own control-flow tests, ported (``brainpy/_src/math/object_transform/
tests/test_controls.py`` and BrainPy 2.1's ``make_loop`` examples), with ``bm =
runner.core``. Where BrainPy's test only prints, the port compares with a pure-JAX
twin or a closed form. Where the ports differ (see also ``runner/core/README.md``):

- ``bm.Variable(1)`` is the scalar 1 here (BrainPy: ``zeros(1)``), so the ports
  write ``bm.Variable(bm.zeros(1))``;
- a ``cond_fun`` that writes state is refused (BrainPy 2.4 ran it);
- a body with no state to carry is traced once, not twice (no discovery pass);
- a ``bm.jit`` function gets its Array argument positionally (``scan(all_a)``
  for ``scan(operands=all_a)``).
"""

from __future__ import annotations

import io
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm

bp = bm  # BrainPy code says ``bp.math``; here ``bm.math`` is ``bm`` itself


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# -- TestLoop ------------------------------------------------------------------------
def make_node(v1, v2):
    def update(x):
        v1.value = v1 * x
        return (v1 + v2) * x

    return update


def make_node_twin(v1, v2, xs):
    hist, returns = [], []
    for x in np.asarray(xs):
        v1 = v1 * x
        hist.append(v1)
        returns.append((v1 + v2) * x)
    return np.stack(hist), np.stack(returns)


@pytest.mark.parametrize("out_vars", ["tuple", "bare", "none"])
def test_make_loop(out_vars):
    bp.math.random.seed(7)
    _v1 = bm.Variable(bm.random.normal(size=10))
    _v2 = bm.Variable(bm.random.random(size=10))
    _xs = bm.random.uniform(size=(4, 10))
    hist, returns = make_node_twin(np.asarray(_v1), np.asarray(_v2), _xs)
    chosen = {"tuple": (_v1,), "bare": _v1, "none": None}[out_vars]
    scan_f = bm.make_loop(make_node(_v1, _v2), dyn_vars=(_v1, _v2),
                          out_vars=chosen, has_return=True)  # fmt: skip
    outs, got = scan_f(_xs)
    close(got, returns)
    close(_v1, hist[-1])
    if out_vars == "tuple":
        close(outs[0], hist)
    elif out_vars == "bare":
        close(outs, hist)
    else:
        assert outs == ()


@pytest.mark.parametrize("unroll", [1, 2])
@pytest.mark.parametrize("jit_f", [False, True])
@pytest.mark.parametrize("jit_scan", [False, True])
def test_for_loop(jit_scan, jit_f, unroll):
    rng = bm.random.RandomState(123)
    c = bm.Variable(rng.randn(4))
    d = rng.randn(2)
    all_a = rng.randn(5, 3)
    c0 = c.value

    def f(a):
        assert a.shape == (3,)
        assert c.shape == (4,)
        b = bm.cos(bm.sum(bm.sin(a)) + bm.sum(bm.cos(c)) + bm.sum(bm.tan(d)))
        c.value = bm.sin(c * b)
        assert b.shape == ()
        return b

    if jit_f:
        f = bm.jit(f)
    scan = partial(bm.for_loop, f, unroll=unroll)
    if jit_scan:
        scan = bm.jit(scan)
    ans = scan(all_a)

    def twin(c, a):
        b = jnp.sum(jnp.sin(a)) + jnp.sum(jnp.cos(c)) + jnp.sum(jnp.tan(d.value))
        b = jnp.cos(b)
        return jnp.sin(c * b), b

    c_end, want = jax.lax.scan(twin, c0, all_a.value)
    close(ans, want)
    close(c, c_end)


def test_for_loop_progress_bar(capsys):
    xs = bm.arange(100)
    ys = bm.for_loop(lambda a: a, xs, progress_bar=True)
    assert bm.allclose(xs, ys)
    assert "100/100 (100%)" in capsys.readouterr().err


def test_for_loop2():
    class MyClass(bp.math.Base):
        def __init__(self):
            super().__init__()
            self.a = bm.Variable(bm.zeros(1))

        def update(self):
            self.a += 1

        def step_run(self, i):
            return self.update()

    cls = MyClass()
    indices = bm.arange(10)
    bm.for_loop(cls.step_run, indices)
    assert bm.allclose(cls.a, 10.0)


def test_make_loop_docstring_example():  # BrainPy 2.1's make_loop docstring, + x
    b = bm.Variable(bm.zeros(1))

    def f(x):
        b.value += 1.0
        return b + x

    loop = bm.make_loop(f, dyn_vars=[b], out_vars=b, has_return=True)
    hist, returns = loop(jnp.arange(4.0))
    close(hist.ravel(), jnp.arange(1.0, 5.0))
    close(returns.ravel(), 2.0 * jnp.arange(4.0) + 1.0)  # b = k + 1, x = k
    outs = bm.make_loop(f, dyn_vars=[b], out_vars=(b,))(jnp.arange(2.0))
    assert isinstance(outs, tuple) and outs[0].shape == (2, 1)
    close(outs[0].ravel(), [5.0, 6.0])
    assert bm.make_loop(f, dyn_vars=[b])(jnp.arange(2.0)) == ()


def test_make_loop_under_jit():
    v1 = bm.Variable(jnp.linspace(0.5, 1.5, 10))
    v2 = bm.Variable(jnp.ones(10))
    xs = jnp.linspace(0.9, 1.1, 40).reshape(4, 10)
    hist, returns = make_node_twin(np.asarray(v1), np.asarray(v2), xs)
    loop = bm.jit(bm.make_loop(make_node(v1, v2), dyn_vars=(v1, v2), out_vars=v1,
                               has_return=True))  # fmt: skip
    outs, got = loop(xs)
    close(outs, hist)
    close(got, returns)
    close(v1, hist[-1])


# -- TestScan ------------------------------------------------------------------------
@pytest.mark.parametrize("jitted", [False, True])
def test_scan(jitted):
    a = bm.Variable(bm.zeros(1))

    def f(carray, x):
        carray += x
        a.value += 1.0
        return carray, a

    def f_outer(carray, x):
        return bm.scan(f, carray, x, unroll=2)

    run = bm.jit(f_outer) if jitted else f_outer
    carry, outs = run(bm.zeros(2), bm.arange(10))
    assert bm.allclose(carry, 45.0)
    expected = bm.arange(1, 11).astype(outs.dtype)
    expected = bm.expand_dims(expected, axis=-1)
    assert bm.allclose(outs, expected)


# -- TestCond ------------------------------------------------------------------------
def test_cond_draws_advance_the_key():
    bm.random.seed(1)
    draw = lambda: bm.random.random(10)  # noqa: E731
    first = bm.cond(True, draw, lambda: bm.random.random(10), ())
    second = bm.cond(False, lambda: bm.random.random(10), draw)
    key = jax.random.PRNGKey(1)
    for got in (first, second):  # one draw per call, whichever branch ran
        key, sub = jax.random.split(key)
        close(got, jax.random.uniform(sub, (10,)))


# -- TestIfElse ----------------------------------------------------------------------
def test_ifelse1():
    def f(a):
        return bm.ifelse(conditions=[a < 0, a < 2, a < 5, a < 10],
                         branches=[lambda: 1, lambda: 2, lambda: 3, lambda: 4,
                                   lambda: 5])  # fmt: skip

    assert f(3) == 3
    assert f(1) == 2
    assert f(-1) == 1


def test_ifelse2():
    def f(a):
        return bm.ifelse(conditions=[a > 10, a > 5, a > 2, a > 0],
                         branches=[1, 2, 3, 4, 5])  # fmt: skip

    assert f(3) == 3
    assert f(1) == 4
    assert f(-1) == 5


def test_ifelse_dyn_vars1():
    var_a = bm.Variable(bm.zeros(1))

    def f(a):
        def f1():
            var_a.value += 1
            return 1

        return bm.ifelse(conditions=[a > 10, a > 5, a > 2, a > 0],
                         branches=[f1, lambda: 2, lambda: 3, lambda: 4, lambda: 5],
                         dyn_vars=var_a)  # fmt: skip

    assert f(11) == 1
    assert bm.all(var_a == 1)
    assert f(1) == 4
    assert f(-1) == 5
    assert bm.all(var_a == 1)


@pytest.mark.parametrize("constants", [False, True])
def test_ifelse_vmap(constants):
    fives = [1, 2, 3, 4, lambda _: 5] if constants else [
        lambda _: 1, lambda _: 2, lambda _: 3, lambda _: 4, lambda _: 5]  # fmt: skip

    def f(a):
        return bm.ifelse(conditions=[a > 10, a > 5, a > 2, a > 0], branches=fives,
                         operands=a)  # fmt: skip

    a = bm.random.randint(-20, 20, 200).value
    r = jax.vmap(f)(a)
    assert r.size == 200
    want = np.select([a > 10, a > 5, a > 2, a > 0], [1, 2, 3, 4], 5)
    np.testing.assert_array_equal(r, want)


def test_ifelse_grad():
    def F2(x):
        return bm.ifelse(conditions=(x >= 10,),
                         branches=[lambda x: x, lambda x: x**2],
                         operands=x)  # fmt: skip

    def F3(x):
        return bm.ifelse(conditions=(x >= 10, x >= 0),
                         branches=[lambda x: x, lambda x: x**2, lambda x: x**4],
                         operands=x)  # fmt: skip

    for F in (F2, F3):
        assert bm.grad(F)(9.0) == 18.0
        assert bm.grad(F)(11.0) == 1.0


# -- TestWhile -----------------------------------------------------------------------
def while_twin(x, y, limit=6.0):
    """BrainPy's while example by jax.lax.while_loop: (x, y, a, b)."""

    def body(s):
        x, y, a, b = s
        a, b = a + x, b * y
        return x + b[0], y + 1.0, a, b

    return jax.lax.while_loop(lambda s: s[0] < limit, body,
                              (x, y, jnp.zeros(1), jnp.ones(1)))  # fmt: skip


def brainpy_while(disable):
    """BrainPy's while example; ``(result, a, b)``."""
    a = bm.Variable(bm.zeros(1))
    b = bm.Variable(bm.ones(1))

    def cond(x, y):
        return x < 6.0

    def body(x, y):
        a.value += x
        b.value *= y
        return x + b[0], y + 1.0

    if disable:
        with jax.disable_jit():
            return bm.while_loop(body, cond, operands=(1.0, 1.0)), a, b
    return bm.while_loop(body, cond, operands=(1.0, 1.0)), a, b


def test_while1_and_2_compiled_and_without_jit():
    want = while_twin(1.0, 1.0)
    outs = []
    for disable in (False, True):
        res, a, b = brainpy_while(disable)
        close(res, want[:2])
        close(a, want[2])
        close(b, want[3])
        outs.append(res)
    assert bm.array_equal(outs[0][0], outs[1][0])
    assert bm.array_equal(outs[0][1], outs[1][1])


def test_while3():
    a = bm.Variable(bm.zeros(1))
    b = bm.Variable(bm.ones(1))

    def cond(x, y):
        return bm.all(a.value < 6.0)

    def body(x, y):
        a.value += x
        b.value *= y

    res = bm.while_loop(body, cond, operands=(1.0, 1.0))
    assert bm.allclose(a, 6.0)
    assert bm.allclose(b, 1.0)
    assert res == (1.0, 1.0)


def test_while4_a_cond_fun_that_writes_state_is_refused():
    a = bm.Variable(bm.zeros(1))

    def cond(x, y):
        a.value += 1
        return bm.all(a.value < 6.0)

    with pytest.raises(ValueError, match=r"while_loop\(cond_fun\)"):
        bm.while_loop(lambda x, y: None, cond, operands=(1.0, 1.0))
    assert bm.allclose(a, 0.0)


def test_while5_under_jit():
    a = bm.Variable(bm.zeros(1))
    b = bm.Variable(bm.ones(1))
    c = bm.Variable(bm.ones(1))

    def body(x, y):
        a.value += x
        b.value *= y
        return x + 1, y + 1

    @bm.jit
    def run(a0, b0):
        x, y = bm.while_loop(body, lambda x, y: bm.all(a.value < 6.0), (a0, b0))
        return c + x

    # a: 0 -> 0 -> 1 -> 3 -> 6 (x = 0, 1, 2, 3); b: 1 * 1 * 2 * 3 * 4
    close(run(0.0, 1.0), [5.0])
    close(a, [6.0])
    close(b, [24.0])


# -- TestDebugAndCompile: how often Python functions run ------------------------------
def logged(name, log, fn):
    def wrapper(*args):
        print(f"{name} ...", file=log)
        return fn(*args)

    return wrapper


def nested_conds(cond, log):
    """BrainPy's nested ``cond`` with every function logging its Python runs."""
    f1 = logged("f1", log, lambda a: a * 0.1)
    f2 = logged("f2", log, lambda a: a * 1.0)
    f3 = logged("f3", log, lambda a: cond(a > 1, f1, f2, a))
    f4 = logged("f4", log, lambda a: a * 10.0)
    return cond(True, f3, f4, 2.0)


def test_cond_traces_as_jax_does():
    ours, theirs = io.StringIO(), io.StringIO()
    close(nested_conds(bm.cond, ours), 0.2)
    close(nested_conds(jax.lax.cond, theirs), 0.2)
    assert ours.getvalue() == theirs.getvalue() == "f3 ...\nf1 ...\nf2 ...\nf4 ...\n"


def test_for_loop_runs_python_once_compiled_and_per_step_without_jit():
    log = io.StringIO()
    f = logged("f", log, lambda a: a)
    bm.for_loop(f, bm.arange(10))
    assert log.getvalue() == "f ...\n"
    log = io.StringIO()
    f = logged("f", log, lambda a: a)
    bm.for_loop(f, bm.arange(10), jit=False)
    assert log.getvalue() == "f ...\n" * 10


def counting_while(loop, log, start):
    body = logged("body", log, lambda a: a + 1)
    cond = logged("cond", log, lambda a: a < 1)
    return loop(body, cond, start)


@pytest.mark.parametrize("start", [10, -5])
def test_while_loop_without_jit_runs_as_jax_does(start):
    ours, theirs = io.StringIO(), io.StringIO()
    with jax.disable_jit():
        got = counting_while(bm.while_loop, ours, start)
        lax_loop = lambda b, c, x: jax.lax.while_loop(c, b, x)  # noqa: E731
        want = counting_while(lax_loop, theirs, start)
    assert int(got) == int(want) == max(start, 1)
    assert ours.getvalue() == theirs.getvalue()
