"""Per-call overhead of ``runner.core`` transforms over the equivalent raw JAX code.

Each case compares the stateful version (``bm.grad`` of a ``Base`` method, taken by
its ``grad_vars`` or ``argnums``) with ``jax.grad`` of a pure twin function that gets
the same parameters as explicit arguments:

* jitted: ``bm.jit(bm.grad(model.update, ...))`` vs ``jax.jit(jax.grad(twin))``,
  target ratio <= 1.10;
* eager: ``bm.grad(model.update, ...)`` vs ``jax.grad(twin)``, target <= 1.25.

Cases: the tutorial's ``Linear`` (w: (1, 10), b: (1,)) by ``grad_vars=(w, b)`` and
by ``argnums=0``, and a 3-layer 512-wide tanh MLP (batch 32, loss = mean squared
output) by its ``train_vars()`` dict.

Results are checked against the raw ones first. Then every call is timed on its own,
results blocked with ``block_until_ready``; ours and raw alternate in rounds, so
changes in machine load hit both, and the medians of all samples are compared.

Run from the repository root::

    python benchmarks/core_overhead.py           # full run (about 30 s)
    python benchmarks/core_overhead.py --quick   # smoke run (a few seconds)
"""

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import cpu  # noqa: E402

import runner.core as bm  # noqa: E402

JIT_TARGET, EAGER_TARGET = 1.10, 1.25


class Linear(bm.Base):
    def __init__(self):
        super().__init__()
        self.w = bm.random.random((1, 10))
        self.b = bm.zeros(1)

    def update(self, x):
        return (bm.dot(self.w, x) + self.b).sum()


def linear_twin(params, x):
    w, b = params
    return (jnp.dot(w, x) + b).sum()


def linear_x_twin(x, w, b):
    return (jnp.dot(w, x) + b).sum()


class MLP(bm.Base):
    def __init__(self, width=512, depth=3):
        super().__init__()
        scale = 1.0 / np.sqrt(width)
        self.ws = [bm.TrainVar(bm.random.randn(width, width) * scale)
                   for _ in range(depth)]  # fmt: skip
        self.bs = [bm.TrainVar(bm.zeros(width)) for _ in range(depth)]

    def update(self, x):
        for w, b in zip(self.ws, self.bs):
            x = bm.tanh(x @ w + b)
        return bm.mean(x**2)


def cases():
    """Yield ``(name, ours, raw, ours_args, raw_args)``, all un-jitted."""
    bm.random.seed(0)
    lin = Linear()
    x = bm.random.random(10).value
    wb = (lin.w.value, lin.b.value)
    yield ("linear grad_vars", bm.grad(lin.update, grad_vars=(lin.w, lin.b)),
           jax.grad(linear_twin), (x,), (wb, x))  # fmt: skip
    yield ("linear argnums", bm.grad(lin.update, argnums=0),
           jax.grad(linear_x_twin), (x,), (x, *wb))  # fmt: skip

    mlp = MLP()
    tv = mlp.train_vars()
    key = {id(v): k for k, v in tv.items()}
    layers = [(key[id(w)], key[id(b)]) for w, b in zip(mlp.ws, mlp.bs)]

    def mlp_twin(params, x):
        for kw, kb in layers:
            x = jnp.tanh(x @ params[kw] + params[kb])
        return jnp.mean(x**2)

    params = {k: v.value for k, v in tv.items()}
    xb = bm.random.randn(32, 512).value
    yield ("mlp train_vars", bm.grad(mlp.update, grad_vars=tv),
           jax.grad(mlp_twin), (xb,), (params, xb))  # fmt: skip


def measure(ours, ours_args, raw, raw_args, rounds, per_round):
    """Median per-call time (µs) of ``ours`` and ``raw``, alternating in rounds."""
    sides = [(ours, ours_args, []), (raw, raw_args, [])]
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            for fn, args, out in sides if r % 2 == 0 else sides[::-1]:
                for _ in range(per_round):
                    t0 = clock()
                    jax.block_until_ready(fn(*args))
                    out.append(clock() - t0)
    finally:
        gc.enable()
    return [statistics.median(out) / 1e3 for _, _, out in sides]


def check_equal(name, got, want):
    got, want = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got) == len(want), f"{name}: {len(got)} vs {len(want)} leaves"
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=name)


def machine():
    return f"{cpu()}, jax {jax.__version__}, {jax.devices()[0]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    quick = parser.parse_args().quick
    # (rounds, calls per side and round, warm-up calls) for jitted and eager calls
    jit_plan = (4, 10, 20) if quick else (100, 10, 50)
    eager_plan = (2, 5, 2) if quick else (20, 10, 3)
    print(f"machine: {machine()}")
    print(f"samples per side (medians): jit {jit_plan[0] * jit_plan[1]}, "
          f"eager {eager_plan[0] * eager_plan[1]}\n")  # fmt: skip
    line = "{:<26}{:>10}{:>10}{:>9}{:>7}{:>8}  {}"
    print(
        line.format("case", "ours µs", "raw µs", "diff µs", "ratio", "target", "result")
    )
    results = []
    for name, ours, raw, a_ours, a_raw in cases():
        for mode, o, r, plan, target in (
            ("jit", bm.jit(ours), jax.jit(raw), jit_plan, JIT_TARGET),
            ("eager", ours, raw, eager_plan, EAGER_TARGET),
        ):
            check_equal(f"{name} [{mode}]", o(*a_ours), r(*a_raw))
            for _ in range(plan[2]):  # compile and warm up caches
                jax.block_until_ready((o(*a_ours), r(*a_raw)))
            t_o, t_r = measure(o, a_ours, r, a_raw, *plan[:2])
            results.append(t_o / t_r <= target)
            verdict = "pass" if results[-1] else "FAIL"
            cells = (f"{t_o:.1f}", f"{t_r:.1f}", f"{t_o - t_r:.1f}", f"{t_o / t_r:.3f}")
            print(
                line.format(f"{name} [{mode}]", *cells, f"{target:.2f}", verdict),
                flush=True,
            )
    print(f"\n{sum(results)}/{len(results)} within target")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
