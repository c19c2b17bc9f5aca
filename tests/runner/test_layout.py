"""The tree is the architecture: stages that data flows down, imported one way.

``runner/config`` (what a config means) < ``runner/compute`` (spec and model to
results) < ``runner/results`` (results on disk and back) < ``runner/app`` (the
command line, jobs, sweeps). A stage imports only ``runner.core``, the public
``runner.inputs`` and the stages below it, at module level or inside a function;
``runner/`` itself holds only entry points. The modules' top-level imports form
no cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT

STAGES = ("config", "compute", "results", "app")
RUNNER = ROOT / "runner"
ENTRY_POINTS = {"__init__.py", "__main__.py", "inputs.py", "sweep.py"}


def _module(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool = False, root: Path = ROOT) -> set[str]:
    """The ``runner`` modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    module = _module(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            names = (
                [f"{name}.{a.name}" for a in node.names] if not node.module else [name]
            )
            found.update(n for n in names if n.startswith("runner"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("runner"))
    return found


def _stage(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STAGES:
        return STAGES.index(parts[1])
    return None


def test_runner_itself_holds_only_the_stages_and_entry_points():
    files = {p.name for p in RUNNER.glob("*.py")}
    folders = {
        p.name for p in RUNNER.iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    assert files == ENTRY_POINTS
    assert folders == {"core", *STAGES}


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_the_stages_below_it(stage):
    level = STAGES.index(stage)
    for path in sorted((RUNNER / stage).glob("*.py")):
        for name in _imports(path):
            other = _stage(name)
            allowed = other is None or other <= level
            if other is None:  # outside the stages: the core and the public inputs
                allowed = name.startswith(
                    ("runner.core", "runner.inputs", "runner.models")
                )
            assert allowed, f"{path.relative_to(ROOT)} imports {name}"
            private = name.startswith("runner.core._")  # the core's hooks are public
            assert not private, f"{path.relative_to(ROOT)} imports {name}"


def test_the_layering_check_sees_lazy_and_relative_imports(tmp_path):
    (tmp_path / "runner" / "config").mkdir(parents=True)
    probe = tmp_path / "runner" / "config" / "probe.py"
    probe.write_text("def f():\n    from ..app.job import run_job\n")
    assert _imports(probe, root=tmp_path) == {"runner.app.job"}
    assert _imports(probe, top_level_only=True, root=tmp_path) == set()


def test_top_level_imports_form_no_cycle():
    graph = {}
    for path in RUNNER.rglob("*.py"):
        if "core" in path.relative_to(RUNNER).parts[:1]:
            continue
        graph[_module(path)] = {
            n
            if n in graph
            or (RUNNER / Path(*n.split(".")[1:])).with_suffix(".py").exists()
            else n.rpartition(".")[0]
            for n in _imports(path, top_level_only=True)
        }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, " -> ".join([*trail, node])
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt in graph and nxt != node and not node.startswith(f"{nxt}."):
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        visit(node, [])


def test_the_stages_below_the_app_do_not_load_hydra():
    # Hydra runs the command line; what computes and writes results needs none of
    # it (the schema's validation uses OmegaConf, Hydra's config library).
    code = ("import sys, runner.compute.experiment, runner.results.tables, "
            "runner.results.loader; print(sorted(m for m in ('hydra', 'pandas') "
            "if m in sys.modules))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.stdout.strip() == "[]", proc.stderr
