"""Properties over random shapes, values, argnums and grad_vars containers.

The stateful model reads TrainVars ``w`` and ``b`` and may write two Variables; its
pure twin takes everything as arguments. Our transforms of the model must equal
JAX's transforms of the twin, forward and reverse Jacobians must agree, gradients
must match finite differences, and no Variable may change unless the function
wrote it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import runner.core as bm
from tests.strategies import Problem, float_arrays, grad_vars_of, problems


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def twin(w, b, args, scalar):
    total = sum((i + 1) * jnp.sum(jnp.tanh(a)) for i, a in enumerate(args))
    out = jnp.sin(w) * total + jnp.sum(b * b) * w
    return 0.5 * jnp.sum(out * out) if scalar else out


class Model(bm.Base):
    def __init__(self, problem: Problem, scalar: bool):
        super().__init__()
        self.w = bm.TrainVar(problem.w)
        self.b = bm.TrainVar(problem.b)
        self.s = bm.Variable(jnp.zeros(2))
        self.t = bm.Variable(jnp.ones(()))
        self.writes = problem.writes
        self.scalar = scalar

    def __call__(self, *args):
        total = 0.0
        for i, a in enumerate(args):
            total = total + (i + 1) * bm.sum(bm.tanh(a))
        if self.writes[0]:
            self.s.value = self.s + total
        if self.writes[1]:
            self.t.value = self.t * 2.0
        out = bm.sin(self.w) * total + bm.sum(self.b * self.b) * self.w
        return 0.5 * bm.sum(out * out) if self.scalar else out


def reference(kind, problem: Problem):
    """JAX's ``kind`` of the twin with respect to one pytree: A, V or (V, A)."""
    w0, b0 = jnp.asarray(problem.w), jnp.asarray(problem.b)
    args = tuple(jnp.asarray(a) for a in problem.args)
    container, argnums = problem.container, problem.argnums
    if container is None and argnums is None:
        argnums = 0
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums or ())
    v0 = {
        None: None,
        "one": w0,
        "tuple": (w0, b0),
        "list": [w0, b0],
        "dict": {"w": w0, "b": b0},
    }[container]
    a0 = (
        args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in positions)
    )

    def pure(g):
        v, a = (g if argnums is not None else (g, None)) if container else (None, g)
        if container == "one":
            w, b = v, b0
        elif container == "dict":
            w, b = v["w"], v["b"]
        elif container is not None:
            w, b = v
        else:
            w, b = w0, b0
        full = list(args)
        for i, value in zip(positions, (a,) if isinstance(argnums, int) else a or ()):
            full[i] = value
        return twin(w, b, full, scalar=kind in ("grad", "hessian"))

    if container is None:
        g0 = a0
    else:
        g0 = (v0, a0) if argnums is not None else v0
    transform = {
        "grad": jax.grad,
        "vector_grad": lambda f: jax.grad(lambda g: jnp.sum(f(g))),
        "jacrev": jax.jacrev,
        "jacfwd": jax.jacfwd,
        "hessian": jax.hessian,
    }[kind]
    return transform(pure)(g0)


def ours(kind, model, problem: Problem):
    transform = getattr(bm, kind)
    return transform(
        model, grad_vars=grad_vars_of(model, problem.container), argnums=problem.argnums
    )(*problem.args)


def assert_trees_close(result, expected, rtol=1e-4, atol=1e-4):
    assert jax.tree_util.tree_structure(result) == jax.tree_util.tree_structure(
        expected
    )
    for got, want in zip(
        jax.tree_util.tree_leaves(result), jax.tree_util.tree_leaves(expected)
    ):
        assert isinstance(got, jax.Array) and not isinstance(got, bm.Array)
        assert got.shape == want.shape
        np.testing.assert_allclose(
            np.asarray(got), np.asarray(want), rtol=rtol, atol=atol
        )


def expected_state(problem: Problem, calls: int = 1):
    """The values of s and t after ``calls`` eager calls of the model."""
    total = sum(
        (i + 1) * np.sum(np.tanh(a.astype(np.float64)))
        for i, a in enumerate(problem.args)
    )
    s = np.zeros(2) + calls * total if problem.writes[0] else np.zeros(2)
    t = 2.0**calls if problem.writes[1] else 1.0
    return s, t


@examples(15)
@given(
    problem=problems(),
    kind=st.sampled_from(["grad", "vector_grad", "jacrev", "jacfwd", "hessian"]),
)
def test_transforms_of_the_model_equal_jax_on_the_twin(problem, kind):
    model = Model(problem, scalar=kind in ("grad", "hessian"))
    result = ours(kind, model, problem)
    assert_trees_close(result, reference(kind, problem))
    s, t = expected_state(problem)
    np.testing.assert_allclose(np.asarray(model.s), s, rtol=1e-5, atol=1e-5)
    assert float(model.t.value) == t


@examples(15)
@given(problem=problems())
def test_forward_and_reverse_jacobians_agree(problem):
    # Both inside one bm.jit: one compilation per example, and jit of transforms.
    model = Model(problem, scalar=False)
    options = {
        "grad_vars": grad_vars_of(model, problem.container),
        "argnums": problem.argnums,
    }
    forward, reverse = bm.jit(
        lambda *args: (
            bm.jacfwd(model, **options)(*args),
            bm.jacrev(model, **options)(*args),
        )
    )(*problem.args)
    assert_trees_close(forward, reverse, rtol=1e-5, atol=1e-5)
    s, t = expected_state(problem, calls=2)  # each transform called the model once
    np.testing.assert_allclose(np.asarray(model.s), s, rtol=1e-5, atol=1e-5)
    assert float(model.t.value) == t


@examples(15)
@given(problem=problems(containers=[None]), data=st.data())
def test_gradient_matches_finite_differences(problem, data):
    # Central differences of the stateful model along a random direction u:
    # (f(x + eps u) - f(x - eps u)) / (2 eps) = <grad f(x), u> + O(eps^2).
    model = Model(problem, scalar=True)
    argnums = problem.argnums
    positions = (argnums,) if isinstance(argnums, int) else argnums
    grads = bm.grad(model, argnums=positions)(*problem.args)
    directions = [data.draw(float_arrays(problem.args[i].shape)) for i in positions]
    eps = 1e-2

    def value_at(sign):
        moved = list(problem.args)
        for i, u in zip(positions, directions):
            moved[i] = problem.args[i] + sign * eps * u
        return float(model(*moved))

    finite = (value_at(1.0) - value_at(-1.0)) / (2 * eps)
    analytic = sum(float(jnp.vdot(g, u)) for g, u in zip(grads, directions))
    assert abs(finite - analytic) <= 2e-2 * (1.0 + abs(analytic))


@examples(10)
@given(problem=problems(containers=[None]))
def test_check_grads_through_our_gradient(problem):
    # jax.test_util.check_grads compares JAX's derivatives of our gradient function
    # (the Hessian, taken through the engine) with its finite differences.
    read_only = Problem(
        problem.w, problem.b, problem.args, problem.argnums, None, (False, False)
    )
    model = Model(read_only, scalar=True)
    argnums = problem.argnums
    grad_fn = bm.grad(model, argnums=argnums)
    check_grads(
        grad_fn, problem.args, order=1, modes=("fwd", "rev"), atol=5e-2, rtol=5e-2
    )


@examples(15)
@given(
    problem=problems(),
    wrap=st.sampled_from(["grad", "vector_grad", "jacrev", "jacfwd", "hessian", "jit"]),
)
def test_no_variable_changes_unless_written(problem, wrap):
    model = Model(problem, scalar=wrap in ("grad", "hessian"))
    before = {key: var.value for key, var in model.vars().items()}
    if wrap == "jit":
        bm.jit(model)(*problem.args)
    else:
        ours(wrap, model, problem)
    written = {
        f"{model.name}.s": problem.writes[0],
        f"{model.name}.t": problem.writes[1],
    }
    for key, var in model.vars().items():
        value = var._value
        assert isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer)
        if written.get(key, False):
            assert value is not before[key]
        else:
            assert value is before[key], key
    s, t = expected_state(problem)
    np.testing.assert_allclose(np.asarray(model.s), s, rtol=1e-5, atol=1e-5)
    assert float(model.t.value) == t
