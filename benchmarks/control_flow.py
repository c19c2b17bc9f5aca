"""Cost of ``bm.for_loop`` over a hand-written ``jax.lax.scan`` of the same model.

The model is a two-layer rate network of 64 units, stepped by a ``Base`` method
that reads the weights ``W``, ``U`` (TrainVars) and writes the rate ``r``
(a Variable)::

    h = tanh(W r + x);  r <- 0.9 r + 0.1 tanh(U h);  loss = mean(stacked r ** 2)

Its twin is one ``jax.lax.scan`` over ``r`` with the weights as arguments.

* (a) time per call of the jitted gradient through a 10,000-step loop:
  ``bm.jit(bm.grad(model.loss, grad_vars=(W, U)))`` against
  ``jax.jit(jax.grad(twin, argnums=(0, 1)))``. Each round times one call of each,
  back to back (which goes first alternates), so both see the same machine load;
  the ratio is the median of the per-round ratios (target <= 1.10), the times
  are medians per side.
* (b) trace + lower and XLA compile time of that gradient at 1,000 and 10,000
  steps (``jax.jit(f).lower(...)`` then ``.compile()``; ours made a pure function
  of the weights with ``bm.substitute``). A loop that unrolled would compile ~10x
  longer at 10,000 steps; a scan stays flat.
* (c) memory of the compiled 10,000-step gradient with and without
  ``remat=True``, from ``compiled.memory_analysis()``: ``temp`` is XLA's scratch
  (where the per-step values saved for the backward pass live), ``peak`` adds
  arguments and outputs (an upper bound on live device memory).

Results are checked against the twin first. Run from the repository root::

    python benchmarks/control_flow.py           # full run (about 10 s)
    python benchmarks/control_flow.py --quick   # smoke run (a few seconds)
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
from core_overhead import check_equal, machine  # noqa: E402

import runner.core as bm  # noqa: E402

TARGET, N, STEPS = 1.10, 64, 10_000


class Rate(bm.Base):
    def __init__(self, n=N):
        super().__init__()
        self.W = bm.TrainVar(bm.random.randn(n, n) / np.sqrt(n))
        self.U = bm.TrainVar(bm.random.randn(n, n) / np.sqrt(n))
        self.r = bm.Variable(bm.zeros(n))

    def step(self, x):
        h = bm.tanh(self.W @ self.r + x)
        self.r.value = 0.9 * self.r + 0.1 * bm.tanh(self.U @ h)
        return self.r.value

    def loss(self, xs, remat=False):
        self.r.value = bm.zeros(self.r.shape)
        return bm.mean(bm.for_loop(self.step, xs, remat=remat) ** 2)


def twin(w, u, xs, remat=False):
    def step(r, x):
        h = jnp.tanh(w @ r + x)
        r = 0.9 * r + 0.1 * jnp.tanh(u @ h)
        return r, r

    step = jax.checkpoint(step) if remat else step
    return jnp.mean(jax.lax.scan(step, jnp.zeros(w.shape[0]), xs)[1] ** 2)


def twin_grad(remat=False):
    return jax.grad(lambda w, u, xs: twin(w, u, xs, remat), argnums=(0, 1))


def pure_grad(model, remat=False):
    """Our gradient as a pure function of the weights (for ``jax.jit(...).lower``)."""
    grad = bm.grad(lambda xs: model.loss(xs, remat), grad_vars=(model.W, model.U))

    def f(w, u, xs):
        with bm.substitute([model.W, model.U, model.r], [w, u, model.r.value]):
            return grad(xs)

    return f


def paired(ours, ours_args, raw, raw_args, rounds):
    """Median ms per call of each side and the median per-round ratio."""
    sides = [(ours, ours_args, []), (raw, raw_args, [])]
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            for fn, args, out in sides if r % 2 == 0 else sides[::-1]:
                t0 = time.perf_counter()
                jax.block_until_ready(fn(*args))
                out.append((time.perf_counter() - t0) * 1e3)
    finally:
        gc.enable()
    (_, _, t_o), (_, _, t_r) = sides
    ratios = [o / r for o, r in zip(t_o, t_r)]
    return statistics.median(t_o), statistics.median(t_r), statistics.median(ratios)


def compile_times(f, args):
    """Seconds to trace and lower, and to compile, ``jax.jit(f)`` for ``args``."""
    t0 = time.perf_counter()
    lowered = jax.jit(f).lower(*args)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    return t1 - t0, time.perf_counter() - t1, compiled


def time_gradient(model, xs, weights, rounds):
    """(a): the jitted gradient, ours against the twin; True if within target."""
    ours = bm.jit(bm.grad(model.loss, grad_vars=(model.W, model.U)))
    raw = jax.jit(jax.grad(twin, argnums=(0, 1)))
    check_equal("gradient", ours(xs), raw(*weights, xs))
    for _ in range(3):  # warm up
        jax.block_until_ready((ours(xs), raw(*weights, xs)))
    t_o, t_r, ratio = paired(ours, (xs,), raw, (*weights, xs), rounds)
    print("(a) jitted gradient through the loop, ms per call")
    print(
        f"    for_loop {t_o:.2f}   lax.scan twin {t_r:.2f}   ratio {ratio:.3f} "
        f"(target <= {TARGET:.2f}): {'pass' if ratio <= TARGET else 'FAIL'}\n"
    )
    return ratio <= TARGET


def build_times(xs, weights):
    """(b): trace + lower and compile time at 1,000 and 10,000 steps; True if flat."""
    print("(b) jit(grad) build time, s (trace+lower / XLA compile)")
    totals = {}
    for steps in (1_000, STEPS):
        cells = []
        for name, f in (("for_loop", pure_grad(Rate())), ("twin", twin_grad())):
            lower, comp, _ = compile_times(f, (*weights, xs[:steps]))
            totals[name, steps] = lower + comp
            cells.append(f"{name} {lower:.3f} / {comp:.3f}")
        print(f"    {steps:>6} steps: " + "   ".join(cells))
    growth = totals["for_loop", STEPS] / totals["for_loop", 1_000]
    print(
        f"    for_loop 10,000 / 1,000 steps: {growth:.2f}x (target < 2, a scan "
        f"stays flat): {'pass' if growth < 2.0 else 'FAIL'}\n"
    )
    return growth < 2.0


def memory(xs, weights):
    """(c): memory of the compiled 10,000-step gradient, with and without remat."""
    print("(c) compiled 10,000-step gradient memory, MB (memory_analysis)")
    for remat in (False, True):
        for name, f in (("for_loop", pure_grad(Rate(), remat)),
                        ("twin", twin_grad(remat))):  # fmt: skip
            mem = compile_times(f, (*weights, xs))[2].memory_analysis()
            temp = mem.temp_size_in_bytes
            peak = (temp + mem.argument_size_in_bytes + mem.output_size_in_bytes
                    - mem.alias_size_in_bytes)  # fmt: skip
            print(
                f"    remat={remat!s:<5} {name:<9} temp {temp / 1e6:7.2f}   "
                f"peak {peak / 1e6:7.2f}"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    rounds = 4 if parser.parse_args().quick else 60
    bm.random.seed(0)
    model = Rate()
    xs = bm.random.randn(STEPS, N).value * 0.5
    weights = (model.W.value, model.U.value)
    print(f"machine: {machine()}")
    print(f"model: {N} units, {STEPS} steps; rounds: {rounds}\n")
    fast = time_gradient(model, xs, weights, rounds)
    flat = build_times(xs, weights)
    memory(xs, weights)
    return 0 if fast and flat else 1


if __name__ == "__main__":
    sys.exit(main())
