"""The compile cache: a per-user absolute directory by default, set once."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import jax
import pytest

from runner.config.compile_cache import default_cache_dir, use_compile_cache
from runner.config.errors import ConfigError


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


def test_the_default_cache_is_private_to_its_user(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("RUNNER_COMPILE_CACHE", raising=False)
    before = jax.config.jax_compilation_cache_dir
    try:
        use_compile_cache(default_cache_dir())
        for folder in (tmp_path / "autodiff-runner", tmp_path / "autodiff-runner/jax"):
            assert folder.stat().st_mode & 0o777 == 0o700, folder
        (tmp_path / "autodiff-runner" / "jax").chmod(0o777)  # made wide by someone
        use_compile_cache(default_cache_dir())
        assert (tmp_path / "autodiff-runner/jax").stat().st_mode & 0o777 == 0o700
    finally:
        use_compile_cache(before)


def test_a_default_cache_that_is_a_link_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("RUNNER_COMPILE_CACHE", raising=False)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "autodiff-runner").mkdir()
    (tmp_path / "autodiff-runner" / "jax").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="^compile_cache: the default cache .* link"):
        use_compile_cache(default_cache_dir())


def test_the_environment_chooses_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_COMPILE_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == str(tmp_path / "c")
