"""NumPy's predicates: the same answers as NumPy, Arrays accepted anywhere, and the
example in each docstring runs.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import runner.core as bm
from runner.core._numpy import PREDICATES

A = np.array([1.0, -2.0, np.inf, -np.inf, np.nan, 0.0], np.float32)
B = np.array([1.0, -2.0 + 1e-7, np.inf, np.inf, np.nan, 1e-9], np.float32)
C = np.array([1.0 + 0.0j, 2.0 + 1.0j], np.complex64)
T = np.array([True, False, True, False])
U = np.array([True, True, False, False])

# name: argument tuples to try (each compared with NumPy)
CASES = {
    "allclose": [(A[:2], B[:2]), (A[:2], A[:2] + 1.0), (A, A)],
    "array_equal": [(A[:2], A[:2]), (A[:2], B[:2]), (A[:2], A[:1]), ([1, 2], [1, 2])],
    "array_equiv": [(np.ones((2, 2)), [1.0, 1.0]), (np.ones((2, 2)), [1.0, 2.0])],
    "isclose": [(A, B), (A[:2], 1.0)],
    "isinf": [(A,)],
    "isneginf": [(A,)],
    "isposinf": [(A,)],
    "isreal": [(C,), (A,)],
    "iscomplex": [(C,), (A,)],
    "isrealobj": [(C,), (A,)],
    "iscomplexobj": [(C,), (A,)],
    "logical_and": [(T, U)],
    "logical_or": [(T, U)],
    "logical_xor": [(T, U)],
    "logical_not": [(T,)],
    "not_equal": [(A, B)],
    "greater_equal": [(A[:2], B[:2]), (A[:2], 0.0)],
    "less_equal": [(A[:2], B[:2]), (A[:2], 0.0)],
}


def test_every_predicate_is_covered():
    assert set(CASES) == set(PREDICATES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_answer_as_numpy_with_arrays_anywhere(name):
    for args in CASES[name]:
        expected = getattr(np, name)(*args)
        plain = getattr(bm, name)(*args)
        wrapped = getattr(bm, name)(*(bm.Array(np.asarray(a)) for a in args))
        for out in (plain, wrapped):
            np.testing.assert_array_equal(np.asarray(out), expected)


@pytest.mark.parametrize("name", sorted(PREDICATES))
def test_docstring_example_runs(name):
    func = getattr(bm, name)
    examples = doctest.DocTestParser().get_doctest(func.__doc__, {}, name, None, 0)
    assert examples.examples, f"{name} has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    result = runner.run(examples, out=report.append)
    assert result.failed == 0, "".join(report)


def test_constants():
    assert bm.inf == np.inf and bm.pi == np.pi and bm.e == np.e and np.isnan(bm.nan)
