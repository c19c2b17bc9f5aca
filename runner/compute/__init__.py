"""Stage 2, from a spec and a model to named results.

The plan (method, ``grad_vars``, ``argnums``, checked inputs), the compiled
derivative, the labels of each result, stability and fixed points, finite-
difference checks, non-finite values, vectorized sweeps, and the rows of the
results table. Imports ``runner.core`` and :mod:`runner.config` only.
"""
