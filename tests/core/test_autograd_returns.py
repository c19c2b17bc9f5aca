"""Return structures of every transform, checked against JAX on the pure twin.

The stateful model below reads TrainVars ``w`` and ``b`` and writes a call counter;
``twin`` is the same computation as a pure function. For every row of the table

    grad_vars  argnums   plain    has_aux        return_value   both
    no         (0)       A        (A, X)         (A, L)         (A, L, X)
    yes        no        V        (V, X)         (V, L)         (V, L, X)
    yes        yes       (V, A)   ((V, A), X)    ((V, A), L)    ((V, A), L, X)

the reference derivative is JAX's transform of the twin with respect to one pytree
``G`` (``A``, ``V`` or ``(V, A)``), so ``V`` has the container of ``grad_vars`` and
``A`` is bare for an int ``argnums`` and a tuple otherwise. For ``hessian`` this
makes the blocks ``((H_VV, H_VA), (H_AV, H_AA))``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm
from tests.strategies import grad_vars_of

W0 = jnp.array([0.5, -1.0, 2.0])
B0 = jnp.array([0.3, -0.6, 1.1])
X0 = jnp.array([0.2, -0.4, 0.9])
Y0 = jnp.array([1.3, 0.4, -0.8])

KINDS = ["grad", "vector_grad", "jacrev", "jacfwd", "jacobian", "hessian"]
SCALAR_KINDS = {"grad", "hessian"}


def twin(w, b, x, y, scalar):
    out = jnp.sin(w * x) * y + b * x
    return jnp.sum(out * out) if scalar else out


def twin_aux(w, b, x, y):
    return {"mid": w * x, "b2": b * b}


class Model(bm.Base):
    def __init__(self, scalar: bool, has_aux: bool):
        super().__init__()
        self.w = bm.TrainVar(W0)
        self.b = bm.TrainVar(B0)
        self.calls = bm.Variable(jnp.zeros(()))
        self.scalar = scalar
        self.has_aux = has_aux

    def __call__(self, x, y):
        self.calls.value = self.calls + 1.0
        out = bm.sin(self.w * x) * y + self.b * x
        if self.scalar:
            out = (out * out).sum()
        if self.has_aux:
            return out, {"mid": self.w * x, "b2": self.b * self.b}
        return out


CONTAINERS = ["one", "tuple", "list", "dict"]


def values_of(container):
    return {
        "one": W0,
        "tuple": (W0, B0),
        "list": [W0, B0],
        "dict": {"w": W0, "b": B0},
    }[container]


def split(container, v):
    """(w, b) from the values of ``grad_vars`` in ``container``."""
    if container == "one":
        return v, B0
    if container == "dict":
        return v["w"], v["b"]
    return v[0], v[1]


def reference_transform(kind):
    """An independent JAX transform of a function of one pytree."""
    if kind == "grad":
        return jax.grad
    if kind == "vector_grad":  # the gradient of the sum of the outputs
        return lambda fn: jax.grad(lambda g: jnp.sum(fn(g)))
    if kind in ("jacrev", "jacobian"):
        return jax.jacrev
    if kind == "jacfwd":
        return jax.jacfwd
    return jax.hessian


def reference(kind, container, argnums):
    """(V, A, L, X) from JAX on the twin; V or A is None when not differentiated."""
    scalar = kind in SCALAR_KINDS
    args = (X0, Y0)
    if container is None and argnums is None:
        argnums = 0
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums or ())

    def pure(g):
        if container is not None and argnums is not None:
            v, a = g
        elif container is not None:
            v, a = g, None
        else:
            v, a = None, g
        w, b = split(container, v) if container is not None else (W0, B0)
        full = list(args)
        substitutes = (a,) if isinstance(argnums, int) else (a or ())
        for i, value in zip(positions, substitutes):
            full[i] = value
        return twin(w, b, *full, scalar)

    a0 = (
        args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in positions)
    )
    if container is not None and argnums is not None:
        g0 = (values_of(container), a0)
    elif container is not None:
        g0 = values_of(container)
    else:
        g0 = a0
    derivative = reference_transform(kind)(pure)(g0)
    if container is not None and argnums is not None:
        v_ref, a_ref = derivative
    elif container is not None:
        v_ref, a_ref = derivative, None
    else:
        v_ref, a_ref = None, derivative
    value = twin(W0, B0, X0, Y0, scalar)
    aux = twin_aux(W0, B0, X0, Y0)
    return v_ref, a_ref, value, aux


def make(kind, func, **kwargs):
    if kind == "jacobian":
        return bm.jacobian(func, **kwargs)
    return getattr(bm, kind)(func, **kwargs)


def assert_same_tree(result, expected) -> None:
    """Same pytree structure (containers, not bm.Arrays) and close leaves."""
    got_tree = jax.tree_util.tree_structure(result)
    want_tree = jax.tree_util.tree_structure(expected)
    assert got_tree == want_tree, f"{got_tree} != {want_tree}"
    leaves = zip(jax.tree_util.tree_leaves(result), jax.tree_util.tree_leaves(expected))
    for got, want in leaves:
        assert isinstance(got, jax.Array) and not isinstance(got, bm.Array)
        assert got.shape == want.shape
        np.testing.assert_allclose(
            np.asarray(got), np.asarray(want), rtol=2e-5, atol=1e-6
        )


# (grad_vars container, argnums, has_aux, return_value, expected from V, A, L, X)
TABLE = [
    (None, None, False, False, "A", lambda V, A, L, X: A),
    (None, 1, True, False, "(A, X)", lambda V, A, L, X: (A, X)),
    (None, (0, 1), False, True, "(A, L)", lambda V, A, L, X: (A, L)),
    (None, [1], True, True, "(A, L, X)", lambda V, A, L, X: (A, L, X)),
    ("one", None, False, False, "V", lambda V, A, L, X: V),
    ("tuple", None, True, False, "(V, X)", lambda V, A, L, X: (V, X)),
    ("list", None, False, True, "(V, L)", lambda V, A, L, X: (V, L)),
    ("dict", None, True, True, "(V, L, X)", lambda V, A, L, X: (V, L, X)),
    ("tuple", 0, False, False, "(V, A)", lambda V, A, L, X: (V, A)),
    ("dict", (1,), True, False, "((V, A), X)", lambda V, A, L, X: ((V, A), X)),
    ("one", (1, 0), False, True, "((V, A), L)", lambda V, A, L, X: ((V, A), L)),
    ("list", [0, 1], True, True, "((V, A), L, X)", lambda V, A, L, X: ((V, A), L, X)),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "container, argnums, has_aux, return_value, label, expected_of",
    TABLE,
    ids=[row[4] for row in TABLE],
)
def test_return_table(
    kind, container, argnums, has_aux, return_value, label, expected_of
):
    model = Model(scalar=kind in SCALAR_KINDS, has_aux=has_aux)
    transform = make(
        kind,
        model,
        grad_vars=grad_vars_of(model, container),
        argnums=argnums,
        has_aux=has_aux,
        return_value=return_value,
    )
    result = transform(bm.Array(X0), Y0)
    v_ref, a_ref, value, aux = reference(kind, container, argnums)
    assert_same_tree(result, expected_of(v_ref, a_ref, value, aux))
    # The write inside happened exactly once and nothing else changed.
    assert float(model.calls.value) == 1.0
    np.testing.assert_array_equal(np.asarray(model.w), np.asarray(W0))
    np.testing.assert_array_equal(np.asarray(model.b), np.asarray(B0))


@pytest.mark.parametrize("kind", ["grad", "vector_grad", "jacrev", "hessian"])
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("argnums", [None, 1, [0]], ids=str)
def test_containers_and_argnums_forms(kind, container, argnums):
    model = Model(scalar=kind in SCALAR_KINDS, has_aux=False)
    transform = make(
        kind, model, grad_vars=grad_vars_of(model, container), argnums=argnums
    )
    result = transform(X0, Y0)
    v_ref, a_ref, _, _ = reference(kind, container, argnums)
    expected = v_ref if argnums is None else (v_ref, a_ref)
    assert_same_tree(result, expected)
    if kind == "hessian" and argnums is not None:
        return  # blocks over the pytree (V, A): the structure was checked above
    grads_of_v = result if argnums is None else result[0]
    container_type = {"one": jax.Array, "tuple": tuple, "list": list, "dict": dict}
    assert isinstance(grads_of_v, container_type[container])
    if argnums is not None:
        assert isinstance(result[1], jax.Array) == isinstance(argnums, int)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("argnums", [0, (0,), [0], (1, 0)], ids=str)
def test_argnums_int_is_bare_and_sequences_give_tuples(kind, argnums):
    model = Model(scalar=kind in SCALAR_KINDS, has_aux=False)
    result = make(kind, model, argnums=argnums)(X0, Y0)
    _, a_ref, _, _ = reference(kind, None, argnums)
    assert_same_tree(result, a_ref)
    if isinstance(argnums, int):
        assert isinstance(result, jax.Array)
    else:
        assert type(result) is tuple and len(result) == len(argnums)


def test_hessian_blocks_over_grad_vars_and_argnums():
    # f(w, x) = sum(w^2 x^3) (elementwise), so
    # H_ww = diag(2 x^3), H_wx = H_xw = diag(6 w x^2), H_xx = diag(6 w^2 x).
    w = bm.TrainVar(jnp.array([1.0, -2.0, 0.5]))
    x = jnp.array([0.5, 3.0, -1.0])
    (h_ww, h_wx), (h_xw, h_xx) = bm.hessian(
        lambda x: bm.sum(w**2 * x**3), grad_vars=w, argnums=0
    )(x)
    wv = w.value
    np.testing.assert_allclose(h_ww, jnp.diag(2 * x**3), rtol=1e-6)
    np.testing.assert_allclose(h_wx, jnp.diag(6 * wv * x**2), rtol=1e-6)
    np.testing.assert_allclose(h_xw, jnp.diag(6 * wv * x**2), rtol=1e-6)
    np.testing.assert_allclose(h_xx, jnp.diag(6 * wv**2 * x), rtol=1e-6)


def test_hessian_of_two_grad_vars_has_every_block():
    # f(u, s) = s^2 sum(u^2): H_uu = 2 s^2 I, H_us = 4 s u, H_ss = 2 sum(u^2).
    u = bm.Variable(jnp.array([1.0, 2.0, -1.0]))
    s = bm.Variable(jnp.array(3.0))
    (h_uu, h_us), (h_su, h_ss) = bm.hessian(
        lambda: s * s * bm.sum(u * u), grad_vars=(u, s)
    )()
    np.testing.assert_allclose(h_uu, 18.0 * jnp.eye(3))
    np.testing.assert_allclose(h_us, [12.0, 24.0, -12.0])
    np.testing.assert_allclose(h_su, [12.0, 24.0, -12.0])
    np.testing.assert_allclose(h_ss, 12.0)


def tuple_output(w, x):
    return {"lin": w * x, "sq": jnp.sum(w * x * x), "sin": jnp.sin(w)}


@pytest.mark.parametrize("kind", ["jacrev", "jacfwd", "jacobian", "hessian"])
@pytest.mark.parametrize("with_vars, argnums", [(True, None), (False, 0), (True, 0)])
def test_pytree_output_groups_per_output_leaf(kind, with_vars, argnums):
    # Each output leaf gets its own V / A / (V, A) group, as JAX does for a
    # function of one pytree; the hessian of a pytree output nests the same way.
    w = bm.TrainVar(jnp.array([1.0, 2.0, -1.0]))

    def f(x):
        return {"lin": w * x, "sq": bm.sum(w * x * x), "sin": bm.sin(w)}

    result = make(kind, f, grad_vars=w if with_vars else None, argnums=argnums)(X0)
    if with_vars and argnums is not None:
        expected = reference_transform(kind)(lambda g: tuple_output(*g))((w.value, X0))
    elif with_vars:
        expected = reference_transform(kind)(lambda v: tuple_output(v, X0))(w.value)
    else:
        expected = reference_transform(kind)(lambda x: tuple_output(w.value, x))(X0)
    assert_same_tree(result, expected)


# -- other inputs and outputs ----------------------------------------------------------
def test_pytree_argument_gives_a_pytree_gradient_and_hessian():
    params = {"a": bm.Array(X0), "b": Y0}  # Arrays inside arguments are read too

    def f(p):
        return bm.sum(p["a"] ** 2 * bm.sin(p["b"]))

    def pure(p):
        return jnp.sum(p["a"] ** 2 * jnp.sin(p["b"]))

    plain = {"a": X0, "b": Y0}
    assert_same_tree(bm.grad(f)(params), jax.grad(pure)(plain))
    assert_same_tree(bm.hessian(f)(params), jax.hessian(pure)(plain))


def test_keyword_arguments_are_passed_through_and_not_differentiated():
    # d/dx (scale * sum(x^2)) = 2 scale x
    out = bm.grad(lambda x, scale=1.0: scale * bm.sum(x * x))(X0, scale=3.0)
    np.testing.assert_allclose(out, 6.0 * X0, rtol=1e-6)


def test_arrays_in_value_and_aux_come_back_as_plain_values():
    v = bm.Variable(W0)

    def f(x):
        return bm.Array(bm.sum(x * v)), {"v": v, "pair": (v, x)}

    _, value, aux = bm.grad(f, has_aux=True, return_value=True)(X0)
    expected_aux = {"v": W0, "pair": (W0, X0)}
    assert_same_tree(aux, expected_aux)
    assert_same_tree(value, jnp.sum(X0 * W0))


def test_grad_of_grad_is_the_second_derivative():
    # f(x) = x^3 sin(x): f'' = 6x sin x + 6x^2 cos x - x^3 sin x.
    x = 1.3
    second = bm.grad(bm.grad(lambda x: x**3 * bm.sin(x)))(x)
    closed = 6 * x * np.sin(x) + 6 * x**2 * np.cos(x) - x**3 * np.sin(x)
    np.testing.assert_allclose(second, closed, rtol=1e-5)


# -- the private entry point by position ------------------------------------------
@pytest.mark.parametrize("kind", ["grad", "vector_grad", "jacrev", "jacfwd"])
def test_per_position_gives_jax_gradients_of_each_position(kind):
    """``per_position`` returns one entry per position: ``V``'s container, then each
    argument, each equal to JAX's derivative of the twin by that position alone."""
    from runner.core.internal import per_position

    scalar = kind in SCALAR_KINDS
    model = Model(scalar=scalar, has_aux=True)
    transform = getattr(bm, kind)(model, grad_vars={"w": model.w}, argnums=(0, 1),
                                  has_aux=True)  # fmt: skip
    grads, value, aux = per_position(transform)(X0, Y0)
    assert isinstance(grads, tuple) and len(grads) == 3

    def f(w, x, y):
        out = twin(w, B0, x, y, scalar)
        return out.sum() if kind == "vector_grad" else out

    jax_kind = {"grad": jax.grad, "vector_grad": jax.grad}.get(kind, jax.jacrev)
    expected = jax_kind(f, argnums=(0, 1, 2))(W0, X0, Y0)
    np.testing.assert_allclose(grads[0]["w"], expected[0], rtol=1e-6)
    np.testing.assert_allclose(grads[1], expected[1], rtol=1e-6)
    np.testing.assert_allclose(grads[2], expected[2], rtol=1e-6)
    np.testing.assert_allclose(value, twin(W0, B0, X0, Y0, scalar), rtol=1e-6)
    np.testing.assert_allclose(aux["mid"], twin_aux(W0, B0, X0, Y0)["mid"], rtol=1e-6)
    assert float(model.calls.value) == 1.0  # state written back as by the transform
