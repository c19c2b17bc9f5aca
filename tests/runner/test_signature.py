"""What a model accepts (declared input shapes, dtypes) and returns."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm
from runner.compute.signature import check_inputs, checked_output, declared_shapes
from runner.config.errors import ConfigError
from runner.models import tutorial
from runner.models.neuro import FitzHughNagumo
from runner.models.tutorial import F2, Linear, Polynomial, f1, linear, quadratic_form

X, Y = [1.0, 2.0, 3.0], [10.0, 5.0]


def test_declarations_are_found_on_functions_methods_and_objects():
    assert declared_shapes(f1) == ((3,), (2,))
    assert declared_shapes(functools.partial(f1)) == ((3,), (2,))
    assert declared_shapes(FitzHughNagumo().vector_field) == ((2,),)
    assert declared_shapes(tutorial.Test()) == ((2,),)  # through type(obj).__call__
    assert declared_shapes(Polynomial()) == ()
    assert declared_shapes(linear) is None and declared_shapes(Linear().update) is None


@pytest.mark.parametrize(
    ("target", "inputs", "key", "words"),
    [(f1, [[1.0], Y], "inputs.0", "shape (3,), received shape (1,)"),
     (f1, [X, [[10.0, 5.0]]], "inputs.1", "shape (2,), received shape (1, 2)"),
     (f1, [X], "inputs", "takes 2 input(s) of shape(s) (3,), (2,), received 1"),
     (Polynomial(), [X], "inputs", "takes 0 input(s)"),
     (quadratic_form, [X, X], "inputs.1", "shape (n, n), received shape (3,)"),
     (f1, [[1e39, 2.0, 3.0], Y], "inputs.0", "1e+39, beyond the largest float32"),
     (f1, [[-1e39, 2.0, 3.0], Y], "inputs.0", "largest float32"),
     (f1, [X, [2**40, 5]], "inputs.1", "outside int32"),
     (f1, [X, ["a", "b"]], "inputs.1", "expected numbers"),
     (f1, [[1, 2, 3], Y], "inputs.0", "must hold floats")],
)  # fmt: skip
def test_bad_inputs_name_their_key(target, inputs, key, words):
    with pytest.raises(ConfigError) as err:
        check_inputs(target, "f", inputs, 0)
    assert err.value.key == key and words in str(err.value), str(err.value)


def test_checked_inputs_are_the_arrays_jax_uses():
    # Free axes (None) take any length; the largest float32 passes unchanged.
    big = float(np.finfo(np.float32).max)
    x, a = check_inputs(quadratic_form, "q", [[big, 0.0], np.eye(2).tolist()], 0)
    assert x.dtype == jnp.float32 and float(x[0]) == big and a.shape == (2, 2)


def test_a_malformed_declaration_is_the_model_s_fault():
    def g(x):
        return x

    g.input_shapes = ("(3,)",)  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as err:
        check_inputs(g, "g", [X], 0)
    assert err.value.key == "model" and "g.input_shapes" in str(err.value)


def _dict_out(x):
    return {"a": x * 2.0, "b": jnp.sin(x).sum()}


def test_checked_output_keeps_structured_outputs():
    checked = checked_output(_dict_out, "model", "g", "jacobian", False)
    got = bm.jacobian(checked)(jnp.array(X))
    want = jax.jacrev(_dict_out)(jnp.array(X))  # JAX on the same pure function
    for k in ("a", "b"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6)


def test_checked_output_finds_the_same_state():
    # F2 writes a <- 2ab while computing; the checked method is jitted as the
    # method itself would be: same owner, same writes, same gradient.
    plain, checked = F2(name="p"), F2(name="c")
    wrapped = checked_output(checked.__call__, "method", "F2.__call__", "grad", False)
    assert wrapped.__self__ is checked
    g_plain = bm.jit(bm.grad(plain.__call__, grad_vars=plain.b))(10.0)
    g_checked = bm.jit(bm.grad(wrapped, grad_vars=checked.b))(10.0)
    np.testing.assert_allclose(g_checked, g_plain)
    np.testing.assert_allclose(checked.a.value, plain.a.value)
    assert float(checked.a.value[0]) == 2.0  # written: 2 * 1 * 1


@pytest.mark.parametrize(
    ("out", "kind", "has_aux", "words"),
    [(None, "jacobian", False, "returned None"),
     ("abc", "vector_grad", False, "returned a str ('abc')"),
     ({"a": 1.0}, "grad", False, "returned a dict with keys ['a']; expected one"),
     ((), "jacobian", False, "returned a tuple of 0"),
     ({"a": 1.0}, "hessian", True, "(value, aux) pair"),
     ((jnp.ones(()), "aux"), "grad", True, "an aux made of arrays")],
)  # fmt: skip
def test_what_cannot_be_differentiated_is_blamed(out, kind, has_aux, words):
    checked = checked_output(lambda x: out, "method", "M.update", kind, has_aux)
    with pytest.raises(ConfigError) as err:
        getattr(bm, kind)(checked, has_aux=has_aux)(jnp.ones(()))
    assert err.value.key == "method" and words in str(err.value), str(err.value)
    assert str(err.value).startswith("method: M.update returned")
