"""Every cell of the differentiation tutorial, with ``bm = runner.core``, ``bp = bm``.

Deterministic outputs are checked exactly as printed in the tutorial; outputs that
depend on random weights are checked against closed forms derived in comments.
Gradients are plain ``jax.Array`` values, never ``bm.Array``/``TrainVar``.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm

bp = bm


def assert_jax(x, expected, rtol=1e-6, atol=0.0) -> None:
    """``x`` is a plain jax.Array equal to ``expected``."""
    assert isinstance(x, jax.Array) and not isinstance(x, bm.Array), type(x)
    np.testing.assert_allclose(np.asarray(x), np.asarray(expected), rtol, atol)


def test_cell_1_platform():
    bp.math.set_platform("cpu")
    assert jax.devices()[0].platform == "cpu"


# -- Preliminary: the linear readout model ------------------------------------------
class Linear(bp.Base):
    def __init__(self):
        super().__init__()
        self.w = bm.random.random((1, 10))
        self.b = bm.zeros(1)

    def update(self, x):
        r = bm.dot(self.w, x) + self.b
        return r.sum()


class LinearAux(bp.Base):
    def __init__(self):
        super().__init__()
        self.w = bm.random.random((1, 10))
        self.b = bm.zeros(1)

    def update(self, x):
        dot = bm.dot(self.w, x)
        r = (dot + self.b).sum()
        return r, (r, dot)


# For r(x) = sum(w @ x + b) with w of shape (1, 10): dr/dx = w[0], dr/dw = x[None],
# dr/db = [1], and at x = ones(10) the value is sum(w).


def test_argnums():
    l = Linear()  # noqa: E741
    grad = bm.grad(l.update, argnums=0)
    assert_jax(grad(bm.ones(10)), l.w.value[0])


def test_grad_vars():
    l = Linear()  # noqa: E741
    grad = bm.grad(l.update, grad_vars=(l.w, l.b))
    dw, db = grad(bm.ones(10))
    assert_jax(dw, np.ones((1, 10)))
    assert_jax(db, [1.0])


def test_grad_vars_and_argnums():
    l = Linear()  # noqa: E741
    grad = bm.grad(l.update, grad_vars=(l.w, l.b), argnums=0)
    var_grads, arg_grads = grad(bm.ones(10))
    assert isinstance(var_grads, tuple) and len(var_grads) == 2
    assert_jax(var_grads[0], np.ones((1, 10)))
    assert_jax(var_grads[1], [1.0])
    assert_jax(arg_grads, l.w.value[0])


def test_return_value():
    l = Linear()  # noqa: E741
    grad = bm.grad(l.update, argnums=0, return_value=True)
    gradient, value = grad(bm.ones(10))
    assert_jax(gradient, l.w.value[0])
    assert_jax(value, jnp.sum(l.w.value), rtol=1e-6)
    assert value.shape == ()


def test_has_aux():
    l2 = LinearAux()
    grad = bm.grad(l2.update, argnums=0, has_aux=True)
    gradient, aux = grad(bm.ones(10))
    assert_jax(gradient, l2.w.value[0])
    # aux = (r, dot) with r = sum(w) and dot = w @ ones = [sum(w)].
    assert isinstance(aux, tuple) and len(aux) == 2
    total = float(jnp.sum(l2.w.value))
    assert_jax(aux[0], total)
    assert_jax(aux[1], [total])
    assert aux[0].shape == () and aux[1].shape == (1,)


# -- bm.grad: pure functions -----------------------------------------------------------
def f_pure(a, b):
    return a * 2 + b


def test_pure_function_default_argnum():
    out = bm.grad(f_pure)(2.0, 1.0)
    assert_jax(out, 2.0)
    assert out.dtype == jnp.float32


def test_pure_function_argnums_tuple():
    out = bm.grad(f_pure, argnums=(0, 1))(2.0, 1.0)
    assert isinstance(out, tuple) and len(out) == 2
    assert_jax(out[0], 2.0)
    assert_jax(out[1], 1.0)


# -- bm.grad: class objects -----------------------------------------------------------
class F(bp.Base):
    def __init__(self):
        super().__init__()
        self.a = bm.TrainVar(bm.ones(1))
        self.b = bm.TrainVar(bm.ones(1))

    def __call__(self, c):
        ab = self.a * self.b
        ab2 = ab * 2
        vv = ab2 + c
        return vv.mean()


# For F: value = 2ab + c, so d/da = 2b = 2 and d/db = 2a = 2 at a = b = 1.


def test_class_grad_vars_dict_from_train_vars():
    f = F()
    assert re.fullmatch(r"F\d+", f.name)
    out = bm.grad(f, grad_vars=f.train_vars())(10.0)
    assert isinstance(out, dict)
    assert list(out) == [f"{f.name}.a", f"{f.name}.b"]
    assert_jax(out[f"{f.name}.a"], [2.0])
    assert_jax(out[f"{f.name}.b"], [2.0])


def test_class_grad_vars_list():
    f = F()
    out = bm.grad(f, grad_vars=[f.a, f.b])(10.0)
    assert isinstance(out, list) and len(out) == 2
    assert_jax(out[0], [2.0])
    assert_jax(out[1], [2.0])


class F2(bp.Base):
    def __init__(self):
        super().__init__()
        self.a = bm.TrainVar(bm.ones(1))
        self.b = bm.TrainVar(bm.ones(1))

    def __call__(self, c):
        ab = self.a * self.b
        ab = ab * 2
        self.a.value = ab
        return (ab + c).mean()


def test_dyn_vars_write_stays_written():
    # value = 2ab + c, d/db = 2a = 2; the function writes a <- 2ab = 2.
    f2 = F2()
    out = bm.grad(f2, dyn_vars=[f2.a], grad_vars=f2.b)(10.0)
    assert_jax(out, [2.0])
    assert_jax(f2.a.value, [2.0])
    assert_jax(f2.b.value, [1.0])
    assert type(f2.a) is bm.TrainVar


def test_write_is_found_without_dyn_vars():
    f2 = F2()
    out = bm.grad(f2, grad_vars=f2.b)(10.0)
    assert_jax(out, [2.0])
    assert_jax(f2.a.value, [2.0])
    # A second call starts from a = 2: d/db = 2a = 4, and a becomes 2 * 2 * 1 = 4.
    assert_jax(bm.grad(f2, grad_vars=f2.b)(10.0), [4.0])
    assert_jax(f2.a.value, [4.0])


class F3(bp.Base):
    def __init__(self):
        super().__init__()
        self.a = bm.TrainVar(bm.ones(1))
        self.b = bm.TrainVar(bm.ones(1))

    def __call__(self, c, d):
        ab = self.a * self.b
        ab = ab * 2
        return (ab + c * d).mean()


# For F3: value = 2ab + cd, d/da = 2b = 2, d/db = 2a = 2, d/dc = d, d/dd = c.


def test_grad_vars_with_one_argnum():
    f3 = F3()
    grads_of_gv, grad_of_args = bm.grad(f3, grad_vars=[f3.a, f3.b], argnums=0)(
        10.0, 3.0
    )
    assert isinstance(grads_of_gv, list) and len(grads_of_gv) == 2
    assert_jax(grads_of_gv[0], [2.0])
    assert_jax(grads_of_gv[1], [2.0])
    assert_jax(grad_of_args, 3.0)
    assert "grad_of_args : 3.0" == f"grad_of_args : {grad_of_args}"


def test_grad_vars_with_two_argnums():
    f3 = F3()
    grads_of_gv, grad_of_args = bm.grad(f3, grad_vars=[f3.a, f3.b], argnums=(0, 1))(
        10.0, 3.0
    )
    assert_jax(grads_of_gv[0], [2.0])
    assert_jax(grads_of_gv[1], [2.0])
    assert isinstance(grad_of_args, tuple) and len(grad_of_args) == 2
    assert_jax(grad_of_args[0], 3.0)
    assert_jax(grad_of_args[1], 10.0)


# -- auxiliary data --------------------------------------------------------------------
def test_return_loss():
    # F at a = b = 1, c = 10: loss = 2 + 10 = 12, d/da = 2b = 2.
    f = F()
    grad, loss = bm.grad(f, grad_vars=f.a, return_value=True)(10.0)
    assert_jax(grad, [2.0])
    assert_jax(loss, 12.0)
    assert f"loss:  {loss}" == "loss:  12.0"


class F4(bp.Base):
    def __init__(self):
        super().__init__()
        self.a = bm.TrainVar(bm.ones(1))
        self.b = bm.TrainVar(bm.ones(1))

    def __call__(self, c):
        ab = self.a * self.b
        ab2 = ab * 2
        loss = (ab + c).mean()
        return loss, (ab, ab2)


def test_intermediate_values():
    # loss = ab + c, d/da = b = 1; aux = (ab, 2ab) = ([1], [2]).
    f4 = F4()
    grad, aux_data = bm.grad(f4, grad_vars=f4.a, has_aux=True)(10.0)
    assert_jax(grad, [1.0])
    assert isinstance(aux_data, tuple) and len(aux_data) == 2
    assert_jax(aux_data[0], [1.0])
    assert_jax(aux_data[1], [2.0])


def test_non_scalar_output_error():
    with pytest.raises(TypeError) as info:
        bm.grad(lambda x: x)(bm.zeros(2))
    assert str(info.value).startswith(
        "Gradient only defined for scalar-output functions."
    )
    assert "(2,)" in str(info.value)


def test_mean_is_right():
    # d/dx mean(x) = 1/n for each entry.
    assert_jax(bm.grad(lambda x: x.mean())(bm.zeros(2)), [0.5, 0.5])


# -- bm.vector_grad --------------------------------------------------------------------
def f_vec(a, b):
    return bm.sin(b) * a


# For f(a, b) = sin(b) * a elementwise: d/da = sin(b), d/db = a * cos(b).


def test_vector_grad_vectors():
    a = bm.arange(5.0)
    b = bm.random.random(5)
    assert_jax(bm.vector_grad(f_vec)(a, b), jnp.sin(b.value))
    da, db = bm.vector_grad(f_vec, argnums=(0, 1))(a, b)
    assert_jax(da, jnp.sin(b.value))
    assert_jax(db, a.value * jnp.cos(b.value))
    assert float(db[0]) == 0.0  # a[0] = 0


def test_vector_grad_matrices():
    a = bm.arange(6.0).reshape((2, 3))
    b = bm.random.random((2, 3))
    db = bm.vector_grad(f_vec, argnums=1)(a, b)
    assert db.shape == (2, 3)
    assert_jax(db, jnp.arange(6.0).reshape((2, 3)) * jnp.cos(b.value))
    da, db = bm.vector_grad(f_vec, argnums=(0, 1))(a, b)
    assert_jax(da, jnp.sin(b.value))
    assert_jax(db, jnp.arange(6.0).reshape((2, 3)) * jnp.cos(b.value))


class VecTest(bp.Base):
    def __init__(self):
        super().__init__()
        self.x = bm.ones(5)
        self.y = bm.ones(5)

    def __call__(self):
        return self.x**2 + self.y**3 + 10


# d/dx (x^2 + y^3 + 10) = 2x = 2 and d/dy = 3y^2 = 3 at x = y = 1.


def test_vector_grad_class_one_array():
    t = VecTest()
    assert_jax(bm.vector_grad(t, grad_vars=t.x)(), [2.0] * 5)


def test_vector_grad_class_tuple_of_one():
    t = VecTest()
    out = bm.vector_grad(t, grad_vars=(t.x,))()
    assert isinstance(out, tuple) and len(out) == 1
    assert_jax(out[0], [2.0] * 5)


def test_vector_grad_class_tuple_of_two():
    t = VecTest()
    dx, dy = bm.vector_grad(t, grad_vars=(t.x, t.y))()
    assert_jax(dx, [2.0] * 5)
    assert_jax(dy, [3.0] * 5)


# -- bm.jacobian -----------------------------------------------------------------------
def f1(x, y):
    a = 4 * x[1] ** 2 - 2 * x[2]
    r = jnp.asarray([x[0] * y[0], 5 * x[2] * y[1], a, x[2] * jnp.sin(x[0])])
    return r, a


_x = bm.array([1.0, 2.0, 3.0])
_y = bm.array([10.0, 5.0])

JAC_X = [
    [10.0, 0.0, 0.0],
    [0.0, 0.0, 25.0],
    [0.0, 16.0, -2.0],
    [1.6209068, 0.0, 0.84147096],
]
JAC_Y = [[1.0, 0.0], [0.0, 15.0], [0.0, 0.0], [0.0, 0.0]]
VALUE = [10.0, 75.0, 10.0, 2.5244129]


def test_jacobian_pure_function():
    grads, vec, aux = bm.jacobian(f1, return_value=True, has_aux=True)(_x, _y)
    assert_jax(grads, JAC_X)
    assert_jax(vec, VALUE)
    assert_jax(aux, 10.0)
    assert aux.shape == ()


class JacTest(bp.Base):
    def __init__(self):
        super().__init__()
        self.x = bm.array([1.0, 2.0, 3.0])

    def __call__(self, y):
        a = self.x[0] * y[0]
        b = 5 * self.x[2] * y[1]
        c = 4 * self.x[1] ** 2 - 2 * self.x[2]
        d = self.x[2] * jnp.sin(self.x[0])
        r = jnp.asarray([a, b, c, d])
        return r, (c, d)


def test_jacobian_class_object():
    t = JacTest()
    f_grad = bm.jacobian(t, grad_vars=t.x, argnums=0, has_aux=True, return_value=True)
    (var_grads, arg_grads), value, aux = f_grad(_y)
    assert_jax(var_grads, JAC_X)
    assert_jax(arg_grads, JAC_Y)
    assert_jax(value, VALUE)
    assert isinstance(aux, tuple) and len(aux) == 2
    assert_jax(aux[0], 10.0)
    assert_jax(aux[1], 2.5244129)
    assert_jax(t.x.value, [1.0, 2.0, 3.0])  # read, never written


def test_jacobian_values_are_the_closed_form():
    # r = [x0 y0, 5 x2 y1, 4 x1^2 - 2 x2, x2 sin x0], so dr/dx =
    # [[y0, 0, 0], [0, 0, 5 y1], [0, 8 x1, -2], [x2 cos x0, 0, sin x0]].
    x0, x1, x2 = 1.0, 2.0, 3.0
    y0, y1 = 10.0, 5.0
    closed = [
        [y0, 0, 0],
        [0, 0, 5 * y1],
        [0, 8 * x1, -2],
        [x2 * np.cos(x0), 0, np.sin(x0)],
    ]
    np.testing.assert_allclose(JAC_X, closed, rtol=1e-6)
    assert_jax(bm.jacobian(f1, has_aux=True, mode="forward")(_x, _y)[0], closed)
