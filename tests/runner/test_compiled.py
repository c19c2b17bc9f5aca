"""Jobs of one structure share one compiled derivative, each with its own state."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import runner.core as bm
from runner.compute.compiled import cached_call, structure_key
from runner.compute.experiment import DiffSpec, compute
from runner.models.tutorial import F2, Linear


class Counted(bm.Base):
    traces = 0

    def __init__(self, scale: float = 2.0, name: str | None = None):
        super().__init__(name=name)
        self.scale = scale
        self.w = bm.Variable(bm.ones(3))

    def __call__(self, x):
        Counted.traces += 1  # runs only while tracing
        self.w.value = self.w * 0.5
        return (self.scale * self.w * x).sum()


def test_second_job_reuses_the_program_and_writes_its_own_state():
    Counted.traces = 0
    first, second = Counted(), Counted()
    second.w.value = bm.array([1.0, 2.0, 3.0])
    spec = DiffSpec(argnums=0, return_value=True)
    out1 = {r.quantity: r.array for r in compute(first, [[1.0, 1.0, 1.0]], spec)}
    out2 = {r.quantity: r.array for r in compute(second, [[1.0, 2.0, 0.0]], spec)}
    assert Counted.traces == 1
    # d/dx sum(scale * (w / 2) * x) = scale * w / 2, with each model's own w.
    np.testing.assert_allclose(out1["grad"], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(out2["grad"], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(out2["value"], 1.0 + 4.0)
    np.testing.assert_allclose(first.w.value, [0.5] * 3)
    np.testing.assert_allclose(second.w.value, [0.5, 1.0, 1.5])


def test_different_settings_or_shapes_do_not_share():
    spec = ("grad", None)
    assert structure_key(Counted(2.0), [1.0], spec) != structure_key(
        Counted(3.0), [1.0], spec
    )
    assert structure_key(Linear(n=3), [[1.0] * 3], spec) != structure_key(
        Linear(n=4), [[1.0] * 4], spec
    )
    assert structure_key(Linear(n=3), [[1.0] * 3], spec) == structure_key(
        Linear(n=3), [[2.0] * 3], spec
    )

    class Opaque(bm.Base):
        def __init__(self):
            super().__init__()
            self.callback = print  # not a simple setting: never shared

    assert structure_key(Opaque(), [1.0], spec) is None


def test_a_failed_call_writes_nothing_and_the_program_still_works():
    a, b = F2(), F2()
    key = structure_key(a, [10.0], ("doc", None))
    cached_call(key, a, bm.grad(a, grad_vars=a.b), [10.0])
    before = np.asarray(a.a.value)
    b_before = np.asarray(b.a.value)
    with pytest.raises(TypeError, match="not a valid JAX array type"):
        cached_call(key, b, bm.grad(b, grad_vars=b.b), ["not a number"])
    np.testing.assert_allclose(a.a.value, before)
    np.testing.assert_allclose(b.a.value, b_before)  # the failed call wrote nothing
    assert isinstance(b.a.value, type(a.a.value))
    # The program still computes correctly after the failure: F2 writes a <- 2ab,
    # and d/db mean(2ab + c) = 2a with b's own a (ones).
    grads = cached_call(key, b, bm.grad(b, grad_vars=b.b), [10.0])
    np.testing.assert_allclose(grads, [2.0])
    np.testing.assert_allclose(b.a.value, [2.0])


def test_the_cache_keeps_no_model_alive():
    first = Counted(scale=5.0)
    key = structure_key(first, [[1.0, 1.0, 1.0]], ("alive", None))
    cached_call(key, first, bm.grad(first), [bm.ones(3)])
    ref = weakref.ref(first)
    del first
    gc.collect()
    assert ref() is None
    second = Counted(scale=5.0)  # the program outlives the model it was traced on
    grads = cached_call(key, second, bm.grad(second), [bm.ones(3)])
    np.testing.assert_allclose(grads, [2.5] * 3)  # scale * w / 2


STEPS = bm.Variable(bm.zeros(()))  # module state that a model's method writes


class Stepping(bm.Base):
    def __init__(self):
        super().__init__()
        self.w = bm.Variable(bm.ones(2))

    def __call__(self, x):
        STEPS.value = STEPS + 1.0
        return (self.w * x).sum()


def test_state_named_by_a_method_is_written_by_every_job():
    STEPS.value = bm.zeros(())
    key = structure_key(Stepping(), [[1.0, 1.0]], ("steps", None))
    for _ in range(3):
        model = Stepping()
        cached_call(key, model, bm.grad(model), [bm.ones(2)])
    assert float(STEPS.value) == 3.0


def test_a_closure_and_the_model_it_holds_are_not_kept():
    def job():
        model = Linear(n=3)
        out = compute(lambda x: model.update(x), [[1.0, 2.0, 3.0]], DiffSpec())
        return weakref.ref(model), out

    ref, out = job()
    gc.collect()
    assert ref() is None
    assert out[0].quantity == "grad" and out[0].array.shape == (3,)
