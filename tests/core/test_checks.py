"""Messages name the transform the user called and the argument the user wrote;
every transform also works as a decorator with options and no function.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm

TRANSFORMS = ["grad", "vector_grad", "jacrev", "jacfwd", "jacobian", "hessian", "jit"]


def cube_sum(x, c):
    return bm.sum(c * x**3)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_a_bad_dyn_vars_entry_names_dyn_vars_in_the_called_transform(name):
    transform = getattr(bm, name)
    with pytest.raises(TypeError, match=rf"^{name}\(dyn_vars=\.\.\.\): entry 1 is a"):
        transform(cube_sum, dyn_vars=[bm.Variable(jnp.ones(1)), 3.0])


@pytest.mark.parametrize("name", TRANSFORMS)
def test_dyn_vars_may_repeat_or_be_empty(name):
    v = bm.Variable(jnp.ones(2))
    for dyn_vars in ([v, v], {}, v, {"a": v, "b": [v]}):
        getattr(bm, name)(cube_sum, dyn_vars=dyn_vars)


@pytest.mark.parametrize("mode", ["reverse", "forward", "auto"])
def test_jacobian_messages_say_jacobian_in_every_mode(mode):
    with pytest.raises(TypeError, match=r"^jacobian\(grad_vars=\.\.\.\): entry 0"):
        bm.jacobian(cube_sum, grad_vars=[2.0], mode=mode)
    with pytest.raises(ValueError, match=r"^jacobian\(argnums=3\): the function"):
        bm.jacobian(cube_sum, argnums=3, mode=mode)(jnp.ones(2), 1.0)
    with pytest.raises(TypeError, match=r"^jacobian\(has_aux=True\)"):
        bm.jacobian(cube_sum, has_aux=True, mode=mode)(jnp.ones(2), 1.0)


@pytest.mark.parametrize("name", TRANSFORMS[:-1])
def test_derivative_decorators_equal_the_direct_form(name):
    transform = getattr(bm, name)

    @transform(argnums=0)
    def decorated(x, c):
        return cube_sum(x, c)

    x = jnp.array([1.0, -2.0])
    direct = transform(cube_sum, argnums=0)(x, 2.0)
    np.testing.assert_allclose(np.asarray(decorated(x, 2.0)), np.asarray(direct))
    if name == "grad":  # and the independent reference: 3 c x^2
        np.testing.assert_allclose(np.asarray(direct), 6.0 * np.asarray(x) ** 2)


def test_jit_decorator_with_static_argnums_and_state():
    total = bm.Variable(jnp.zeros(()))
    traces = []

    @bm.jit(static_argnums=1)
    def add_power(x, n):
        traces.append(n)
        total.value = total + bm.sum(x**n)
        return total.value

    add_power(jnp.array([2.0]), 3)
    add_power(jnp.array([1.0]), 3)
    assert float(add_power(jnp.array([2.0]), 2)) == 13.0
    assert traces.count(3) == 1 and traces.count(2) == 1


def test_plain_decorator_still_works():
    @bm.jit
    def double(x):
        return 2 * x

    assert float(double(2.0)) == 4.0


@pytest.mark.parametrize("name", TRANSFORMS)
def test_an_unknown_option_is_refused_when_decorating(name):
    with pytest.raises(TypeError, match="unexpected keyword argument 'argnum'"):
        getattr(bm, name)(argnum=0)(cube_sum)
