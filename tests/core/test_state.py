"""Array, Variable and TrainVar: operators, value assignment, protocols, pytrees."""

from __future__ import annotations

import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm
from runner.core._state import StateTrace, unwrap

X = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=np.float32)
Y = np.array([[2.0, 0.5, -1.5], [3.0, -2.5, 1.0]], dtype=np.float32)

BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.floordiv,
    operator.mod,
    operator.pow,
    operator.eq,
    operator.ne,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]


def assert_plain(result, expected) -> None:
    """``result`` is a plain jax.Array (never a bm.Array) equal to ``expected``."""
    assert isinstance(result, jax.Array)
    assert not isinstance(result, bm.Array)
    np.testing.assert_allclose(np.asarray(result), np.asarray(expected), rtol=1e-6)


# -- construction ----------------------------------------------------------------
def test_construction_from_list_keeps_values_and_float32():
    a = bm.Array([1.0, 2.0])
    assert isinstance(a.value, jax.Array)
    assert a.dtype == jnp.float32 and a.shape == (2,) and a.ndim == 1 and a.size == 2
    np.testing.assert_array_equal(np.asarray(a), [1.0, 2.0])


def test_construction_from_array_copies_the_value_not_the_container():
    a = bm.Array([1.0, 2.0])
    b = bm.Variable(a)
    assert type(b) is bm.Variable and b.value is a.value
    b.value = b * 2
    np.testing.assert_array_equal(np.asarray(a), [1.0, 2.0])


def test_construction_with_dtype_converts():
    a = bm.Array([1, 2], dtype=jnp.float32)
    assert a.dtype == jnp.float32


def test_python_scalar_state_is_strongly_typed():
    # A weakly typed value would be a different jit input than the strongly typed
    # result written back into it, so state must never be weakly typed.
    assert not bm.Variable(0.0).value.weak_type
    v = bm.Variable(jnp.zeros(()))
    v.value = jnp.asarray(2.0)  # jnp.asarray of a Python float is weakly typed
    assert not v.value.weak_type and float(v) == 2.0


def test_class_hierarchy():
    assert issubclass(bm.TrainVar, bm.Variable)
    assert issubclass(bm.Variable, bm.Array)
    assert not issubclass(bm.Array, bm.Variable)


# -- operators -------------------------------------------------------------------
@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
def test_binary_operators_return_plain_jax_arrays(op):
    a, b = bm.Array(X), bm.Array(Y)
    expected = op(jnp.asarray(X), jnp.asarray(Y))
    assert_plain(op(a, b), expected)
    assert_plain(op(a, jnp.asarray(Y)), expected)
    assert_plain(op(jnp.asarray(X), b), expected)
    assert_plain(op(a, 2.0), op(jnp.asarray(X), 2.0))
    assert_plain(op(2.0, b), op(2.0, jnp.asarray(Y)))


def test_operators_with_numpy_arrays_defer_to_array():
    # __array_priority__ makes numpy call the reflected Array method.
    a = bm.Array(X)
    assert_plain(Y + a, Y + X)
    assert_plain(Y * a, Y * X)


def test_matmul_both_directions():
    a = bm.Array(X)
    m = jnp.asarray(Y.T)
    assert_plain(a @ m, X @ Y.T)
    assert_plain(m @ a, Y.T @ X)
    assert_plain(a @ bm.Array(Y.T), X @ Y.T)


@pytest.mark.parametrize(
    "op", [operator.and_, operator.or_, operator.xor], ids=lambda op: op.__name__
)
def test_bitwise_operators(op):
    i = np.array([0b1100, 0b1010, 7], dtype=np.int32)
    j = np.array([0b1010, 0b0110, 1], dtype=np.int32)
    assert_plain(op(bm.Array(i), bm.Array(j)), op(i, j))
    assert_plain(op(bm.Array(i), 3), op(i, 3))
    assert_plain(op(3, bm.Array(j)), op(3, j))


@pytest.mark.parametrize(
    "op, values",
    [
        (operator.neg, X),
        (operator.pos, X),
        (operator.abs, X),
        (operator.invert, np.array([True, False])),
    ],
    ids=["neg", "pos", "abs", "invert"],
)
def test_unary_operators(op, values):
    assert_plain(op(bm.Array(values)), op(values))


def test_jnp_functions_accept_arrays():
    a = bm.Array(X)
    assert_plain(jnp.sin(a), np.sin(X))
    assert_plain(jnp.dot(a, bm.Array(Y.T)), X @ Y.T)


def test_array_methods_come_from_the_value():
    a = bm.Array(X)
    assert_plain(a.sum(), X.sum())
    assert_plain(a.mean(axis=0), X.mean(axis=0))
    assert_plain(a.T, X.T)
    assert_plain(a.reshape(3, 2), X.reshape(3, 2))
    assert a.astype(jnp.int32).dtype == jnp.int32
    with pytest.raises(AttributeError):
        a._not_there  # noqa: B018
    with pytest.raises(AttributeError):
        a.not_an_array_method  # noqa: B018


# -- value get / set -------------------------------------------------------------
def test_value_setter_keeps_the_object_and_replaces_the_value():
    v = bm.Variable(jnp.zeros(3))
    v.value = jnp.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.asarray(v), [1.0, 2.0, 3.0])
    v.value = bm.Array([4.0, 5.0, 6.0])
    assert isinstance(v.value, jax.Array) and not isinstance(v.value, bm.Array)
    np.testing.assert_array_equal(np.asarray(v), [4.0, 5.0, 6.0])
    v.value = [7.0, 8.0, 9.0]
    np.testing.assert_array_equal(np.asarray(v), [7.0, 8.0, 9.0])


def test_value_setter_casts_python_scalars_to_the_dtype():
    v = bm.Variable(jnp.zeros((), dtype=jnp.float32))
    v.value = 3  # an int, stored as float32
    assert v.dtype == jnp.float32 and float(v) == 3.0
    i = bm.Variable(jnp.zeros((), dtype=jnp.int32))
    i.value = 4
    assert i.dtype == jnp.int32 and int(i) == 4


def test_value_setter_rejects_another_shape():
    v = bm.Variable(jnp.zeros(3))
    with pytest.raises(
        ValueError, match=r"expected shape \(3,\), received shape \(2,\)"
    ):
        v.value = jnp.zeros(2)
    with pytest.raises(ValueError, match=r"Variable\.value: expected shape \(3,\)"):
        v.value = 1.0  # a scalar is not broadcast
    np.testing.assert_array_equal(np.asarray(v), np.zeros(3))


def test_value_setter_rejects_another_dtype():
    v = bm.TrainVar(jnp.zeros(3))
    with pytest.raises(TypeError, match=r"TrainVar\.value: expected dtype float32"):
        v.value = jnp.zeros(3, dtype=jnp.int32)
    with pytest.raises(TypeError, match=r"received dtype int32.*astype\(float32\)"):
        v.value = jnp.arange(3)
    assert v.dtype == jnp.float32


# -- container protocol ----------------------------------------------------------
def test_len_iter_and_indexing():
    a = bm.Array(X)
    assert len(a) == 2
    rows = list(a)
    assert len(rows) == 2
    for row, expected in zip(rows, X):
        assert_plain(row, expected)
    assert_plain(a[1], X[1])
    assert_plain(a[:, 1:], X[:, 1:])
    assert_plain(a[bm.Array([1, 0])], X[[1, 0]])
    assert_plain(a[a > 0], X[X > 0])


def test_setitem_writes_through_and_keeps_the_object():
    v = bm.Variable(jnp.zeros((2, 3)))
    before = id(v)
    v[0] = 1.0
    v[1, bm.Array([0, 2])] = bm.Array([5.0, 6.0])
    assert id(v) == before
    np.testing.assert_array_equal(np.asarray(v), [[1, 1, 1], [5, 0, 6]])


def test_scalar_conversions():
    assert float(bm.Array(2.5)) == 2.5
    assert int(bm.Array(7)) == 7
    assert bool(bm.Array(True)) is True
    assert bool(bm.Array(0.0)) is False
    assert [10, 20, 30][bm.Array(2)] == 30  # __index__
    with pytest.raises(TypeError):
        operator.index(bm.Array(2.0))


def test_hash_is_identity_so_arrays_can_key_dicts():
    a, b = bm.Array([1.0]), bm.Array([1.0])
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"


def test_numpy_asarray():
    a = bm.Array(X)
    out = np.asarray(a)
    assert type(out) is np.ndarray and out.dtype == np.float32
    np.testing.assert_array_equal(out, X)
    assert np.asarray(a, dtype=np.float64).dtype == np.float64
    copied = np.array(a, copy=True)
    copied[0, 0] = 100.0
    assert float(a[0, 0]) == 1.5


def test_jnp_asarray_gives_the_value():
    a = bm.Variable(X)
    out = jnp.asarray(a)
    assert isinstance(out, jax.Array) and not isinstance(out, bm.Array)
    np.testing.assert_array_equal(np.asarray(out), X)


# -- repr --------------------------------------------------------------------------
def test_repr_names_the_class():
    assert repr(bm.Array([1.0, 2.0])) == "Array([1., 2.], dtype=float32)"
    assert repr(bm.Variable(jnp.arange(3))) == "Variable([0, 1, 2], dtype=int32)"
    assert repr(bm.TrainVar(jnp.ones(1))) == "TrainVar([1.], dtype=float32)"


def test_repr_aligns_rows_under_the_class_name():
    text = repr(bm.TrainVar(jnp.array([[1.0, 2.0], [3.0, 4.0]])))
    assert text == "TrainVar([[1., 2.],\n          [3., 4.]], dtype=float32)"


# -- pytrees -----------------------------------------------------------------------
@pytest.mark.parametrize("cls", [bm.Array, bm.Variable, bm.TrainVar])
def test_pytree_roundtrip_keeps_the_class(cls):
    a = cls(X)
    leaves, treedef = jax.tree_util.tree_flatten(a)
    assert len(leaves) == 1 and leaves[0] is a.value
    rebuilt = jax.tree_util.tree_unflatten(treedef, [leaves[0] * 2])
    assert type(rebuilt) is cls and rebuilt is not a
    np.testing.assert_array_equal(np.asarray(rebuilt), 2 * X)
    doubled = jax.tree_util.tree_map(lambda x: x * 3, {"k": a})
    assert type(doubled["k"]) is cls
    np.testing.assert_array_equal(np.asarray(doubled["k"]), 3 * X)


def test_arrays_pass_through_jax_jit_as_pytrees():
    out = jax.jit(lambda a: a * 2)(bm.Variable(X))
    np.testing.assert_array_equal(np.asarray(out), 2 * X)


def test_unwrap_is_recursive():
    a, b = bm.Array([1.0]), bm.Variable([2.0])
    out = unwrap({"a": a, "rest": [b, (a, 3.0)]})
    assert out["a"] is a.value and out["rest"][0] is b.value
    assert out["rest"][1][0] is a.value and out["rest"][1][1] == 3.0


# -- StateTrace --------------------------------------------------------------------
def test_state_trace_records_reads_writes_and_creations():
    x, y = bm.Variable(jnp.zeros(2)), bm.Variable(jnp.ones(2))
    with StateTrace() as trace:
        _ = x + 1
        y.value = y * 3
        z = bm.Array([0.0])
    assert set(trace.reads) == {id(x), id(y)}
    assert set(trace.writes) == {id(y)}
    assert set(trace.created) == {id(z)}
    # The trace restores what it saw written when it exits.
    np.testing.assert_array_equal(np.asarray(y), [1.0, 1.0])


def test_state_trace_restores_swapped_and_written_values_after_an_error():
    x, y = bm.Variable(jnp.zeros(2)), bm.Variable(jnp.ones(2))
    original_x, original_y = x.value, y.value
    with pytest.raises(RuntimeError, match="inside"), StateTrace() as trace:
        trace.swap_in([x], [jnp.full(2, 9.0)])
        y.value = jnp.full(2, 7.0)
        raise RuntimeError("inside")
    assert x.value is original_x and y.value is original_y


def test_nested_state_traces_pass_reads_and_creations_outwards():
    outer_var, inner_var = bm.Variable(jnp.zeros(1)), bm.Variable(jnp.ones(1))
    with StateTrace() as outer:
        made_outside = bm.Array([0.0])
        with StateTrace():
            _ = inner_var + made_outside
            made_inside = bm.Array([1.0])
        _ = outer_var + 0
    assert id(inner_var) in outer.reads and id(outer_var) in outer.reads
    assert id(made_inside) in outer.created and id(made_outside) in outer.created
    # An Array created in the outer trace is not external to it.
    assert id(made_outside) not in outer.external(outer.reads)
