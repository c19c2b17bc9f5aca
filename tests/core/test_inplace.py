"""In-place operators write ``.value`` of the same object: eagerly, under jit, under
every derivative transform (written back after it), with aliases kept.

Each operator is checked against the same NumPy operator on the same values.
"""

from __future__ import annotations

import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm

FLOAT0 = np.array([1.5, -2.0], np.float32)
INT0 = np.array([6, 3], np.int32)
MATRIX = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)

# name: (in-place operator, plain operator, initial value, right-hand side)
OPS = {
    "+=": (operator.iadd, operator.add, FLOAT0, np.float32(0.5)),
    "-=": (operator.isub, operator.sub, FLOAT0, np.array([1.0, 2.0], np.float32)),
    "*=": (operator.imul, operator.mul, FLOAT0, np.float32(3.0)),
    "/=": (operator.itruediv, operator.truediv, FLOAT0, np.float32(4.0)),
    "//=": (operator.ifloordiv, operator.floordiv, FLOAT0, np.float32(0.7)),
    "%=": (operator.imod, operator.mod, FLOAT0, np.float32(0.7)),
    "**=": (operator.ipow, operator.pow, FLOAT0, np.float32(2.0)),
    "@=": (operator.imatmul, operator.matmul, FLOAT0, MATRIX),
    "&=": (operator.iand, operator.and_, INT0, np.int32(5)),
    "|=": (operator.ior, operator.or_, INT0, np.int32(9)),
    "^=": (operator.ixor, operator.xor, INT0, np.array([1, 2], np.int32)),
    "<<=": (operator.ilshift, operator.lshift, INT0, np.int32(2)),
    ">>=": (operator.irshift, operator.rshift, INT0, np.int32(1)),
}
NAMES = sorted(OPS)


def expected(name: str, times: int = 1) -> np.ndarray:
    _, plain, start, other = OPS[name]
    out = start
    for _ in range(times):
        out = plain(out, other)
    return np.asarray(out, dtype=start.dtype)


def check(var, name: str, times: int = 1) -> None:
    assert isinstance(var._value, jax.Array)
    assert not isinstance(var._value, jax.core.Tracer)
    assert var.dtype == OPS[name][2].dtype and var.shape == OPS[name][2].shape
    np.testing.assert_allclose(np.asarray(var), expected(name, times), rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("cls", [bm.Array, bm.Variable, bm.TrainVar])
def test_eager_writes_the_same_object_and_aliases_see_it(name, cls):
    inplace, _, start, other = OPS[name]
    var = cls(start)
    alias = var
    holder = [var]
    var = inplace(var, other)
    holder[0] = inplace(holder[0], bm.Array(other))  # an Array on the right
    assert var is alias is holder[0] and type(var) is cls
    check(alias, name, times=2)


class Model(bm.Base):
    def __init__(self, name):
        super().__init__()
        self.op, _, start, self.other = OPS[name]
        self.s = bm.Variable(start)
        self.w = bm.TrainVar(jnp.array([2.0, -1.0]))

    def step(self, x):
        self.s = self.op(self.s, self.other)  # what `self.s += other` does
        return bm.sum(self.w * x) ** 2


@pytest.mark.parametrize("name", NAMES)
def test_under_jit_written_back_per_call(name):
    model = Model(name)
    var = model.s
    step = bm.jit(model.step)
    step(jnp.ones(2))
    step(jnp.ones(2))
    assert model.s is var
    check(var, name, times=2)


# Every operator under grad; every transform for one float, matrix and int operator.
KINDS = ["grad", "vector_grad", "jacrev", "jacfwd", "hessian"]
CASES = [(n, "grad") for n in NAMES] + [
    (n, k) for n in ("+=", "@=", "&=") for k in KINDS if k != "grad"
]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_under_derivative_transforms_written_back(name, kind):
    model = Model(name)
    var = model.s
    transform = getattr(bm, kind)(model.step, grad_vars=model.w)
    x = jnp.array([0.5, 3.0])
    out = transform(x)
    assert model.s is var
    check(var, name)
    # f(w) = (w . x)^2: gradient 2 (w . x) x; Hessian 2 x x^T.
    if kind == "hessian":
        ref = 2 * np.outer(x, x)
    else:
        ref = 2 * float(jnp.dot(model.w.value, x)) * np.asarray(x)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-6)


@pytest.mark.parametrize("name", ["+=", "@=", "&="])
def test_jacobian_auto_writes_once(name):
    # mode="auto" runs the function twice (an abstract pass picks the mode); only
    # the real pass's write stays.
    model = Model(name)
    jac = bm.jacobian(model.step, grad_vars=model.w, mode="auto")
    jac(jnp.ones(2))
    jac(jnp.ones(2))
    check(model.s, name, times=2)


@pytest.mark.parametrize("name", ["+=", "*=", "@="])
def test_jit_of_grad_writes_back(name):
    model = Model(name)
    step = bm.jit(bm.grad(model.step, grad_vars=model.w))
    for _ in range(3):
        step(jnp.ones(2))
    check(model.s, name, times=3)


def test_inplace_on_a_grad_var_is_differentiated_through():
    # f(w) = sum((w * 3 + 1) * x): w is updated in place inside f; df/dw = 3 x, and
    # the new value 3 w + 1 is written back.
    w = bm.TrainVar(jnp.array([1.0, 2.0]))

    def f(x):
        w.value = w * 3.0
        global_w = w
        global_w += 1.0
        return bm.sum(w * x)

    x = jnp.array([0.5, -1.0])
    g = bm.grad(f, grad_vars=w)(x)
    np.testing.assert_allclose(np.asarray(g), 3 * np.asarray(x))
    np.testing.assert_allclose(np.asarray(w), [4.0, 7.0])


def test_shape_change_is_refused_and_nothing_written():
    v = bm.Variable(jnp.ones(2))
    with pytest.raises(ValueError, match=r"Variable \+=: expected shape \(2,\), recei"):
        v += jnp.ones((3, 2))
    with pytest.raises(ValueError, match=r"Variable @=: .*keeps the shape"):
        v @= jnp.ones((2, 3))
    np.testing.assert_array_equal(np.asarray(v), [1.0, 1.0])


def test_dtype_change_is_refused_and_nothing_written():
    v = bm.Variable(jnp.arange(3))
    with pytest.raises(TypeError, match=r"Variable /=: expected dtype int32, .*float"):
        v /= 2
    with pytest.raises(TypeError, match=r"Variable \+=: .*keeps the dtype"):
        v += 0.5
    np.testing.assert_array_equal(np.asarray(v), [0, 1, 2])


def test_refused_under_jit_leaves_state_untouched():
    model = Model("+=")
    model.other = jnp.ones((3, 2))  # broadcasts to a new shape
    with pytest.raises(ValueError, match=r"Variable \+=: expected shape"):
        bm.jit(model.step)(jnp.ones(2))
    np.testing.assert_array_equal(np.asarray(model.s), FLOAT0)


def test_under_a_raw_jax_transform_a_write_is_refused():
    v = bm.Variable(jnp.ones(2))

    def f(x):
        nonlocal v
        v += x
        return x

    with pytest.raises(TypeError, match="outside the runner.core transforms"):
        jax.jit(f)(jnp.ones(2))
    np.testing.assert_array_equal(np.asarray(v), [1.0, 1.0])


def test_setitem_and_shift_operators():
    v = bm.Variable(jnp.array([1, 2, 3]))
    v[1] = 7
    assert (v << 1).tolist() == [2, 14, 6]
    assert (1 << bm.Array(jnp.array([1, 2]))).tolist() == [2, 4]
    assert (v >> 1).tolist() == [0, 3, 1]
    assert (8 >> bm.Array(jnp.array([1, 2]))).tolist() == [4, 2]
