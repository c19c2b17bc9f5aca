"""Every code block of the guides in ``docs/`` runs, in order, as written.

Each guide runs in a fresh directory (its working directory, also on
``PYTHONPATH``): ``bash`` blocks through bash with this interpreter's ``runner``
and ``python`` first on ``PATH``, ``python`` blocks as scripts, and ``yaml``
blocks are parsed. Markers in HTML comments, invisible on the page, say more:
``<!-- file: PATH -->`` before a block writes it to ``PATH`` (for later blocks),
``<!-- exit: N -->`` before a bash block expects exit status N instead of 0.
``text`` blocks (output, diagrams, and commands that need a SLURM cluster or run
the tests themselves) are not code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, runner_script

GUIDES = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(
    r"(?:<!-- (?P<marker>file|exit): (?P<arg>\S+) -->\n)?"
    r"(?P<indent>[ \t]*)```(?P<lang>\w*)\n(?P<body>.*?)\n(?P=indent)```",
    re.S,
)
CODE = ("bash", "python", "yaml")


def blocks(text: str) -> list[tuple[str, str, str | None, str | None]]:
    """``(language, body, marker, argument)`` of each fenced block of ``text``."""
    found = []
    for m in BLOCK.finditer(text):
        body = textwrap.dedent("\n".join(line for line in m["body"].splitlines()))
        found.append((m["lang"], body + "\n", m["marker"], m["arg"]))
    return found


def test_every_guide_is_linked_from_the_readme_and_has_only_known_blocks():
    readme = (ROOT / "README.md").read_text()
    assert GUIDES, "no guides in docs/"
    for guide in GUIDES:
        assert f"(docs/{guide.name})" in readme, guide.name
        for lang, _, marker, _ in blocks(guide.read_text()):
            assert lang in (*CODE, "text"), f"{guide.name}: a ```{lang} block"
            assert marker != "exit" or lang == "bash", guide.name


@pytest.mark.slow
@pytest.mark.parametrize("guide", GUIDES, ids=[g.stem for g in GUIDES])
def test_every_code_block_runs(guide, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "RUNNER_ALLOWED_TARGETS")}  # fmt: skip
    bins = dict.fromkeys([str(Path(runner_script()).parent),
                          str(Path(sys.executable).parent)])  # fmt: skip
    env.update(PATH=os.pathsep.join([*bins, env.get("PATH", "")]),
               PYTHONPATH=str(tmp_path), JAX_PLATFORMS="cpu")  # fmt: skip
    ran = 0
    for i, (lang, body, marker, arg) in enumerate(blocks(guide.read_text())):
        where = f"{guide.name}, block {i} ({lang})"
        if lang not in CODE:
            continue
        if marker == "file":
            path = tmp_path / arg
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
        if lang == "yaml":
            yaml.safe_load(body)
        elif lang == "python" and marker != "file":
            script = tmp_path / f"block_{i}.py"
            script.write_text(body)
            proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                                  env=env, capture_output=True, text=True,
                                  timeout=600)  # fmt: skip
            assert proc.returncode == 0, f"{where}:\n{proc.stderr}"
        elif lang == "bash":
            proc = subprocess.run(["bash", "-ec", body], cwd=tmp_path, env=env,
                                  capture_output=True, text=True,
                                  timeout=600)  # fmt: skip
            expected = int(arg) if marker == "exit" else 0
            assert proc.returncode == expected, (
                f"{where}:\n{proc.stdout}\n{proc.stderr}"
            )
        ran += 1
    assert ran, f"{guide.name} has no code block"
