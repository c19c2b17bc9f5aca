"""``import runner.core`` stays light: no Hydra, OmegaConf or pandas."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("hydra", "omegaconf", "pandas")

PROBE = """
import json, sys

def loaded():
    return sorted({name.split('.')[0] for name in sys.modules})

import runner.core as bm
bm.grad(lambda x: x * x)(2.0)
after_core = loaded()
import pandas  # the probe must see a heavy import once one happens
print(json.dumps([after_core, loaded()]))
"""


def test_core_import_does_not_load_app_dependencies():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    after_core, after_pandas = json.loads(done.stdout.strip().splitlines()[-1])
    assert "runner" in after_core and "jax" in after_core
    assert [name for name in HEAVY if name in after_core] == []
    assert "pandas" in after_pandas
