"""Properties of ``run_experiment`` over random experiment specs.

Valid specs (shapes, kind, ``argnums``, ``grad_vars`` subsets, ``has_aux``,
``return_value``) give the numbers JAX gives on the pure twin of the model; invalid
specs always end in a :class:`~runner.config.errors.ConfigError`, never another
exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import runner.core as bm
from runner.compute.experiment import DiffSpec, run_experiment
from runner.config.errors import ConfigError
from runner.config.schema import Kind

KINDS = tuple(k.value for k in Kind)  # the schema's kinds

SHAPES = [(), (2,), (3,), (2, 2)]
SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _pure(w, b, *args):
    """The model's scalar: every position reaches it nonlinearly."""
    s = jnp.sum(jnp.sin(w)) + jnp.sum(b**2) * jnp.sum(jnp.cos(w))
    for i, a in enumerate(args):
        s = s + (i + 1) * jnp.sum(a**2) * jnp.sum(b) + jnp.sum(jnp.sin(a)) * jnp.sum(w)
    return s


def _pure_out(kind, w, b, *args):
    """The model's primary output: a scalar for grad and hessian, else a vector."""
    s = _pure(w, b, *args)
    if kind in ("grad", "hessian"):
        return s
    return s * jnp.arange(1.0, 4.0) + jnp.stack([jnp.sum(w), jnp.sum(b), 0.0])


class Model(bm.Base):
    """The stateful twin of :func:`_pure_out`: TrainVars ``w`` and ``b``."""

    def __init__(self, w, b, kind, has_aux):
        super().__init__(name="m")
        self.w = bm.TrainVar(bm.asarray(w))
        self.b = bm.TrainVar(bm.asarray(b))
        self.kind, self.has_aux = kind, has_aux

    def __call__(self, *args):
        out = _pure_out(self.kind, self.w.value, self.b.value, *args)
        if self.has_aux:
            return out, (jnp.sum(self.w.value), self.b.value * 2)
        return out


def _floats(shape):
    return hnp.arrays(np.float32, shape, elements=st.floats(-2, 2, width=32))


@dataclass
class Spec:
    w: np.ndarray
    b: np.ndarray
    args: list[np.ndarray]
    diff: DiffSpec


@st.composite
def valid_specs(draw):
    w = draw(_floats(draw(st.sampled_from(SHAPES[1:]))))
    b = draw(_floats(draw(st.sampled_from(SHAPES))))
    n_args = draw(st.integers(0, 3))
    args = [draw(_floats(draw(st.sampled_from(SHAPES)))) for _ in range(n_args)]
    grad_vars = draw(
        st.sampled_from([None, "w", ["b"], ["w", "b"], ["b", "w"], "@train_vars"])
    )
    if n_args == 0 and grad_vars is None:
        grad_vars = "@train_vars"
    forms = ["none", "int", "list"] if n_args else ["none"]
    form = draw(st.sampled_from(forms))
    if form == "int":
        argnums = draw(st.integers(0, n_args - 1))
    elif form == "list":
        order = draw(st.permutations(range(n_args)))
        argnums = list(order[: draw(st.integers(1, n_args))])
    else:
        argnums = None
    diff = DiffSpec(
        kind=draw(st.sampled_from(KINDS)),
        argnums=argnums,
        grad_vars=grad_vars,
        has_aux=draw(st.booleans()),
        return_value=draw(st.booleans()),
    )
    return Spec(w, b, args, diff)


def _positions(spec):
    """Table names and twin positions (0: w, 1: b, 2 + i: argument i)."""
    gv, d = spec.diff.grad_vars, spec.diff
    names = {None: [], "w": ["w"], "@train_vars": ["b", "w"]}.get(
        gv if isinstance(gv, str) or gv is None else "", list(gv or [])
    )
    argnums = d.argnums if d.argnums is not None else (0 if gv is None else None)
    args = [] if argnums is None else list(np.atleast_1d(argnums))
    pos = [(n, {"w": 0, "b": 1}[n]) for n in names]
    return pos + [(f"arg{a}", 2 + int(a)) for a in args]


def _expected(spec):
    kind = spec.diff.kind
    primals = [jnp.asarray(spec.w), jnp.asarray(spec.b), *map(jnp.asarray, spec.args)]
    positions = _positions(spec)
    argnums = tuple(p for _, p in positions)
    out = {}
    if kind in ("grad", "vector_grad"):
        grads = jax.grad(lambda *p: _pure_out(kind, *p).sum(), argnums)(*primals)
        out.update({name: g for (name, _), g in zip(positions, grads)})
    elif kind == "hessian":
        h = jax.hessian(lambda *p: _pure_out(kind, *p), argnums)(*primals)
        for i, (row, _) in enumerate(positions):
            for j, (col, _) in enumerate(positions):
                out[f"{row},{col}"] = h[i][j]
    else:
        jac = jax.jacrev(lambda *p: _pure_out(kind, *p), argnums)(*primals)
        out.update({name: g for (name, _), g in zip(positions, jac)})
    return out, _pure_out(kind, *primals)


@SETTINGS
@given(valid_specs())
def test_valid_specs_match_jax_on_the_pure_twin(spec):
    model = Model(spec.w, spec.b, spec.diff.kind, spec.diff.has_aux)
    frame = run_experiment(model, spec.args, spec.diff)
    expected, value = _expected(spec)
    grads = frame[frame["quantity"] == "grad"]
    assert list(dict.fromkeys(grads["wrt"])) == list(expected)
    for wrt, array in expected.items():
        got = grads[grads["wrt"] == wrt]["value"].to_numpy()
        np.testing.assert_allclose(got, np.ravel(array), rtol=2e-5, atol=2e-5,
                                   err_msg=wrt)  # fmt: skip
    values = frame[frame["quantity"] == "value"]["value"].to_numpy()
    if spec.diff.return_value:
        np.testing.assert_allclose(values, np.ravel(value), rtol=2e-5, atol=2e-5)
    else:
        assert values.size == 0
    aux = frame[frame["quantity"] == "aux"]
    if spec.diff.has_aux:
        assert list(aux["output"].unique()) == ["[0]", "[1]"]
        np.testing.assert_allclose(aux["value"].iloc[0], spec.w.sum(), rtol=1e-5,
                                   atol=1e-5)  # fmt: skip
    else:
        assert aux.empty


# -- invalid specs ------------------------------------------------------------------
IDENTIFIERS = st.text(
    alphabet=st.characters(categories=["Ll", "Lu", "Nd"], include_characters="_.@ "),
    max_size=12,
)


@st.composite
def invalid_specs(draw):
    """A valid spec with one thing broken, and the model's method (maybe broken)."""
    spec = draw(valid_specs())
    d = spec.diff
    n = len(spec.args)
    method = None
    broken = draw(st.sampled_from(
        ["kind", "argnums", "grad_vars", "int input", "nan input", "ragged input",
         "method", "has_aux", "scalar"]
    ))  # fmt: skip
    if broken == "kind":
        d = DiffSpec(**{**d.__dict__, "kind": draw(IDENTIFIERS.filter(
            lambda k: k not in KINDS))})  # fmt: skip
    elif broken == "argnums":
        bad = draw(st.one_of(
            st.integers(n, n + 5), st.integers(-5, -1), st.floats(0.1, 2.5),
            IDENTIFIERS, st.just([]), st.builds(lambda a: [a, a], st.integers(0, 3)),
        ))  # fmt: skip
        d = DiffSpec(**{**d.__dict__, "argnums": bad})
    elif broken == "grad_vars":
        bad = draw(st.one_of(
            IDENTIFIERS.filter(lambda g: g not in ("w", "b", "@train_vars", "@vars")),
            st.integers(), st.just([]), st.just(["w", "w"]), st.just([1, 2]),
        ))  # fmt: skip
        d = DiffSpec(**{**d.__dict__, "grad_vars": bad})
    elif broken in ("int input", "nan input", "ragged input"):
        if n == 0:
            spec.args.append(np.float32(1.0))
            n = 1
        d = DiffSpec(**{**d.__dict__, "argnums": 0})
        spec.args[0] = {
            "int input": np.arange(3),
            "nan input": np.array([1.0, np.nan], np.float32),
            "ragged input": [[1.0], [2.0, 3.0]],
        }[broken]
    elif broken == "method":
        method = draw(IDENTIFIERS.filter(lambda m: not m.startswith("_")
                                         and m not in dir(bm.Base)))  # fmt: skip
    elif broken == "has_aux":
        spec.diff = DiffSpec(**{**d.__dict__, "has_aux": True})
        return spec, None, "aux mismatch"
    else:
        d = DiffSpec(**{**d.__dict__, "kind": "grad"})
        return Spec(spec.w, spec.b, spec.args, d), None, "vector for grad"
    spec.diff = d
    return spec, method, broken


@SETTINGS
@given(invalid_specs())
def test_invalid_specs_always_end_in_config_error(case):
    spec, method, broken = case
    kind, has_aux = spec.diff.kind, spec.diff.has_aux
    if broken == "aux mismatch":
        has_aux = False  # diff.has_aux is true, but the model returns no aux
    if broken == "vector for grad":
        kind = "jacobian"  # the model returns a vector, the spec asks for grad
    model = Model(spec.w, spec.b, kind if kind in KINDS else "grad", has_aux)
    with pytest.raises(ConfigError) as err:
        run_experiment(model, spec.args, spec.diff, method)
    assert "\n" not in str(err.value)
    assert err.value.key.split(".")[0] in ("diff", "inputs", "method", "model")
