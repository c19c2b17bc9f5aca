"""README's examples stay true: its core example runs and its commands exist."""

from __future__ import annotations

import re

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_core_example_runs_and_writes_state():
    code = re.search(r"## The core in 20 lines\n\n```python\n(.*?)```", README, re.S)
    assert code is not None and len(code.group(1).splitlines()) <= 20
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own README
    # One eager call and two jitted calls each add 1 to `calls`.
    assert float(namespace["l"].calls) == 3.0
    (var_grads, arg_grads), value = namespace["f"](namespace["bm"].ones(10))
    assert float(var_grads[1][0]) == 1.0  # d/db sum(w . x + b) = 1


def test_ci_runs_the_readme_test_command():
    command = 'python -m pip install -e ".[test]" && python -m pytest'
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text()
