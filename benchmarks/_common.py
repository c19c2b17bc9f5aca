"""Helpers shared by the benchmark scripts: the machine line and timed commands."""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu():
    """The CPU model and core count, as read from ``/proc/cpuinfo``."""
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    models = [
        ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")
    ]
    name = models[0] if models else platform.processor() or "unknown CPU"
    return f"{name}, {os.cpu_count()} cores"


def machine():
    """The CPU line plus the versions of Python, JAX and Hydra (from a subprocess)."""
    code = "import jax, hydra; print(jax.__version__, hydra.__version__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    return (
        f"{cpu()}, Python {platform.python_version()}, jax {out[0]}, "
        f"hydra-core {out[1]}"
    )


def run(cmd, label):
    """Run ``cmd`` from the repository root; return (wall seconds, stdout, stderr)."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise SystemExit(f"{label} failed (exit {proc.returncode}):\n{tail}")
    return seconds, proc.stdout, proc.stderr
