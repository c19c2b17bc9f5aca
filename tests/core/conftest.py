"""Shared fixtures of the core tests.

Every test runs under a guard that remembers each Array created during the test and
fails the test if any of them still holds a JAX tracer at teardown: no transform may
leave a traced value behind in state, whatever the test does.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from pathlib import Path

import jax
import pytest

from runner.core import _state

# When a property fails, Hypothesis imports its patch writer, which imports a
# module that warns on import; with warnings as errors that would abort the whole
# session instead of reporting the failure. Import it here, warnings ignored.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:
        pass

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``tests.strategies`` when pytest runs from elsewhere
    sys.path.insert(0, str(ROOT))


def is_concrete(value: object) -> bool:
    """A concrete JAX array: a ``jax.Array`` that is not a tracer."""
    return isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer)


@pytest.fixture(autouse=True)
def no_tracer_left(monkeypatch: pytest.MonkeyPatch):
    """Fail the test if an Array made during it holds a tracer at the end."""
    made: list[weakref.ref] = []
    original_init = _state.Array.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(_state.Array, "__init__", recording_init)
    yield made
    monkeypatch.undo()
    leaked = [
        (type(a).__name__, type(a._value).__name__)
        for a in (ref() for ref in made)
        if a is not None and not is_concrete(a._value)
    ]
    assert not leaked, f"Arrays left holding tracers: {leaked}"
