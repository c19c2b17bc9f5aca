"""The compile cache: a per-user absolute directory by default, set once."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import jax

from runner.compile_cache import default_cache_dir, use_compile_cache


def test_the_default_is_per_user_and_absolute(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == str(tmp_path / "autodiff-runner" / "jax")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    found = Path(default_cache_dir())
    assert found.is_absolute() and found.is_relative_to(tmp_path / "home")


def test_the_composed_default_does_not_depend_on_the_working_directory(
    compose, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cache = compose("+exp=jacobian").compile_cache
    assert Path(cache).is_absolute() and cache == default_cache_dir()
    assert not Path(cache).is_relative_to(tmp_path)
    assert compose("+exp=jacobian", "compile_cache=null").compile_cache is None


def test_jax_settings_change_only_when_they_differ(tmp_path):
    try:
        use_compile_cache(str(tmp_path))
        assert jax.config.jax_compilation_cache_dir == str(tmp_path)
        with mock.patch.object(jax.config, "update") as update:
            use_compile_cache(str(tmp_path))  # the next job of a sweep
        assert update.call_count == 0
        with mock.patch.object(jax.config, "update") as update:
            use_compile_cache(None)
        update.assert_called_once_with("jax_compilation_cache_dir", None)
    finally:
        use_compile_cache(None)
