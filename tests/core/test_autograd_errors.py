"""Errors of the transforms and of state assignment: type and message."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm

TRANSFORMS = [bm.grad, bm.vector_grad, bm.jacrev, bm.jacfwd, bm.jacobian, bm.hessian]
IDS = ["grad", "vector_grad", "jacrev", "jacfwd", "jacobian", "hessian"]


def total(x):
    return bm.sum(x * x)


# -- scalar output -------------------------------------------------------------------
@pytest.mark.parametrize(
    "output, shape",
    [(lambda x: x, r"\(2,\)"), (lambda x: bm.outer(x, x), r"\(2, 2\)")],
    ids=["vector", "matrix"],
)
def test_non_scalar_output_of_grad(output, shape):
    with pytest.raises(TypeError) as info:
        bm.grad(output)(bm.zeros(2))
    message = str(info.value)
    assert message.startswith("Gradient only defined for scalar-output functions.")
    assert re.search(rf"shape {shape}", message)
    assert ".sum()" in message and "vector_grad" in message and "jacobian" in message


def test_tuple_output_of_grad_suggests_has_aux():
    with pytest.raises(TypeError, match=r"received a tuple.*pass has_aux=True"):
        bm.grad(lambda x: (bm.sum(x), x))(bm.zeros(2))


def test_scalar_output_rule_is_only_for_grad():
    # vector_grad and jacobian exist for vector outputs: d/dx x^2 = 2x.
    x = jnp.array([1.0, 2.0])
    np.testing.assert_allclose(bm.vector_grad(lambda x: x * x)(x), 2 * x)
    np.testing.assert_allclose(bm.jacobian(lambda x: x * x)(x), jnp.diag(2 * x))


# -- has_aux ---------------------------------------------------------------------------
@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
@pytest.mark.parametrize(
    "returned, described",
    [
        (lambda x: total(x), r"a single array of shape \(\)"),
        (lambda x: (total(x), x, x), r"a tuple of length 3"),
        (lambda x: [total(x)], r"a list of length 1"),
        (lambda x: {"loss": total(x)}, r"a dict"),
    ],
    ids=["array", "triple", "list1", "dict"],
)
def test_has_aux_without_a_pair(transform, returned, described):
    with pytest.raises(
        TypeError, match=r"has_aux=True\): the function must return"
    ) as info:
        transform(returned, has_aux=True)(jnp.ones(2))
    assert re.search(f"it returned {described}", str(info.value))


def test_has_aux_accepts_a_list_pair():
    # d/dx sum(x^2) = 2x; the aux is passed through.
    g, aux = bm.grad(lambda x: [total(x), x + 1], has_aux=True)(jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(g, [2.0, 6.0])
    np.testing.assert_allclose(aux, [2.0, 4.0])


# -- argnums ---------------------------------------------------------------------------
@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
@pytest.mark.parametrize("argnums", [-1, (0, -2)], ids=["int", "tuple"])
def test_negative_argnums(transform, argnums):
    with pytest.raises(ValueError, match=r"argnums=\.\.\.\): expected non-negative"):
        transform(total, argnums=argnums)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_argnums_past_the_positional_arguments(transform):
    with pytest.raises(
        ValueError,
        match=r"\(argnums=2\): the function was called with 2 positional argument\(s\)",
    ):
        transform(lambda x, y: total(x * y), argnums=2)(jnp.ones(2), jnp.ones(2))
    with pytest.raises(ValueError, match=r"argnums=\(0, 3\).* 1 positional argument"):
        transform(total, argnums=(0, 3))(jnp.ones(2))


def test_default_argnum_needs_a_positional_argument():
    def keyword_default(x=None):
        return total(jnp.ones(2) if x is None else x)

    with pytest.raises(ValueError, match=r"argnums=0\).* 0 positional argument"):
        bm.grad(keyword_default)()


def test_keyword_arguments_are_not_positions():
    with pytest.raises(ValueError, match=r"called with 1 positional argument"):
        bm.grad(lambda x, y: total(x * y), argnums=1)(jnp.ones(2), y=jnp.ones(2))


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
@pytest.mark.parametrize(
    "argnums, name",
    [
        (1.0, "float 1.0"),
        ("0", "str '0'"),
        (True, "bool True"),
        ((0, None), "NoneType"),
    ],
    ids=["float", "str", "bool", "none-in-tuple"],
)
def test_argnums_not_ints(transform, argnums, name):
    with pytest.raises(TypeError, match=rf"argnums=\.\.\.\): expected ints.*{name}"):
        transform(total, argnums=argnums)


def test_argnums_repeated_or_empty():
    with pytest.raises(ValueError, match=r"argnums=\[0, 0\]\): repeated entries"):
        bm.grad(total, argnums=(0, 0))
    with pytest.raises(ValueError, match=r"argnums=\(\)\): empty"):
        bm.grad(total, argnums=())


def test_numpy_integer_argnums_are_accepted():
    # d/dy sum(x y) = x
    x = jnp.array([1.0, 2.0])
    out = bm.grad(lambda x, y: bm.sum(x * y), argnums=np.int64(1))(x, jnp.ones(2))
    np.testing.assert_allclose(out, x)


# -- grad_vars -------------------------------------------------------------------------
@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_grad_vars_entry_not_an_array(transform):
    v = bm.Variable(jnp.ones(2))
    with pytest.raises(TypeError, match=r"grad_vars=\.\.\.\): entry 1 is a ndarray"):
        transform(total, grad_vars=[v, np.ones(2)])
    with pytest.raises(TypeError, match=r"entry 0 is a float, expected a bm\.Array"):
        transform(total, grad_vars=(1.0, v))
    with pytest.raises(
        TypeError, match=r"entry 0 is a .*Array.*, expected a bm\.Array"
    ):
        transform(total, grad_vars=jnp.ones(2))


def test_grad_vars_duplicates():
    v = bm.Variable(jnp.ones(2))
    with pytest.raises(ValueError, match=r"entries 0 and 2 are the same Array"):
        bm.grad(total, grad_vars=[v, bm.Variable(jnp.ones(2)), v])
    with pytest.raises(ValueError, match=r"the same Array"):
        bm.jacobian(total, grad_vars={"a": v, "b": v})


def test_grad_vars_empty():
    with pytest.raises(ValueError, match=r"received an empty list"):
        bm.grad(total, grad_vars=[])


def test_dyn_vars_are_checked_like_grad_vars():
    with pytest.raises(TypeError, match=r"entry 0 is a int"):
        bm.grad(total, dyn_vars=[3])


# -- integer inputs --------------------------------------------------------------------
@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_integer_argument_points_at_allow_int(transform):
    with pytest.raises(
        TypeError, match=r"argument 0 \(argnums\) has dtype int32"
    ) as info:
        transform(lambda x: bm.sum(x * x))(jnp.arange(3))
    assert "allow_int" in str(info.value)


@pytest.mark.parametrize("transform", [bm.grad, bm.jacrev], ids=["grad", "jacrev"])
def test_integer_grad_var_points_at_allow_int(transform):
    counts = bm.Variable(jnp.arange(3))
    with pytest.raises(
        TypeError, match=r"grad_vars entry 0 has dtype int32.*allow_int"
    ):
        transform(lambda: bm.sum(counts * 1.0), grad_vars=counts)()


def test_a_generator_among_dict_grad_vars_is_named_by_its_key():
    # model.vars() collects a model's RandomState too; its uint32 key has no gradient.
    model = bm.Base(name="m")
    model.w = bm.TrainVar(jnp.ones(2))
    model.rng = bm.random.RandomState(0)
    f = bm.grad(
        lambda: bm.sum(model.w * model.rng.normal(size=2)), grad_vars=model.vars()
    )
    with pytest.raises(
        TypeError, match=r"grad_vars\['m.rng'\]\) has dtype uint32. Leave it out of gra"
    ) as info:
        f()
    assert info.value.argument == "grad_vars"


def test_allow_int_gives_float0_zeros():
    # d/dy sum(x * y) = x for the float argument; the int argument gets float0.
    x = jnp.array([1.0, 2.0])
    dx, dn = bm.grad(lambda y, n: bm.sum(x * y * n), argnums=(0, 1), allow_int=True)(
        jnp.ones(2), jnp.arange(2)
    )
    np.testing.assert_allclose(dx, x * jnp.arange(2))
    assert dn.dtype == jax.dtypes.float0


def test_integer_argument_that_is_not_differentiated_is_fine():
    # d/dx sum(x * n) = n
    out = bm.grad(lambda x, n: bm.sum(x * n))(jnp.ones(2), jnp.array([2, 3]))
    np.testing.assert_allclose(out, [2.0, 3.0])


# -- callables and options -------------------------------------------------------------
@pytest.mark.parametrize("transform", [*TRANSFORMS, bm.jit], ids=[*IDS, "jit"])
@pytest.mark.parametrize("func", [3, "f", None, bm.Base(name="not_callable")])
def test_non_callable(transform, func):
    with pytest.raises(TypeError, match=r"\(func\): expected a callable"):
        transform(func)


def test_jacobian_mode():
    with pytest.raises(ValueError, match=r"jacobian\(mode='sideways'\): expected"):
        bm.jacobian(total, mode="sideways")


# -- Array.value assignment ------------------------------------------------------------
def test_assignment_with_wrong_shape_or_dtype():
    v = bm.Variable(jnp.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"expected shape \(2, 3\), received shape \(3,\)"
    ):
        v.value = jnp.zeros(3)
    with pytest.raises(
        TypeError, match=r"expected dtype float32, received dtype int32"
    ):
        v.value = jnp.zeros((2, 3), dtype=jnp.int32)
    with pytest.raises(TypeError, match=r"expected dtype float32, received dtype bool"):
        v.value = v > 0


def test_wrong_assignment_inside_a_transform_restores_state():
    v = bm.Variable(jnp.ones(2))
    w = bm.Variable(jnp.ones(2))

    def f(x):
        w.value = w * x
        v.value = jnp.zeros(3)  # wrong shape
        return bm.sum(x)

    with pytest.raises(ValueError, match=r"expected shape \(2,\)"):
        bm.grad(f)(jnp.full(2, 5.0))
    np.testing.assert_array_equal(np.asarray(w), [1.0, 1.0])
    np.testing.assert_array_equal(np.asarray(v), [1.0, 1.0])


# -- which argument is at fault, by attribute ---------------------------------------
@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: bm.grad(total, argnums=-1), "argnums"),
        (lambda: bm.grad(lambda x, y: total(x), argnums=1)(jnp.ones(2)), "argnums"),
        (lambda: bm.jacrev(total, grad_vars=[1.0]), "grad_vars"),
        (lambda: bm.jacrev(lambda x: x, has_aux=True)(jnp.ones(2)), "has_aux"),
        (lambda: bm.grad(lambda x: x)(jnp.ones(2)), "output"),
        (lambda: bm.grad(lambda x: (total(x), x))(jnp.ones(2)), "has_aux"),
        (lambda: bm.grad(total)(jnp.arange(2)), "allow_int"),
        (
            lambda: bm.grad(lambda: 0.0, grad_vars=bm.random.RandomState(0))(),
            "grad_vars",
        ),
        (lambda: bm.grad(3), "func"),
        (lambda: bm.jacobian(total, mode="both"), "mode"),
    ],
    ids=[
        "argnums",
        "nargs",
        "grad_vars",
        "has_aux",
        "output",
        "pair",
        "allow",
        "int_var",
        "func",
        "mode",
    ],
)
def test_core_errors_name_their_argument(make, argument):
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert info.value.argument == argument


def test_errors_of_the_function_itself_name_no_argument():
    def model(x):
        raise ValueError("argnums of the model's own table are wrong")

    with pytest.raises(ValueError, match="model's own") as info:
        bm.grad(model)(jnp.ones(2))
    assert not hasattr(info.value, "argument")


def test_errors_of_a_transform_inside_the_function_name_no_argument():
    def model(x):
        return bm.grad(total, argnums=3)(x)  # a mistake inside the function

    with pytest.raises(ValueError, match=r"argnums=3") as info:
        bm.grad(model)(jnp.ones(2))
    assert not hasattr(info.value, "argument")
