"""Atomic writes: a failure while writing leaves the old file (or none), never half."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from runner.tables import atomic_write, write_json, write_tables


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("old\n")

    def half_then_crash(path):
        path.write_text("quantity,wrt\ngrad,")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_crash)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


def test_tables_round_trip_with_precision(tmp_path):
    frame = pd.DataFrame({"quantity": ["grad"], "index": ["(0,)"], "value": [1 / 3]})
    paths = write_tables(frame, tmp_path, ["csv", "parquet"], precision=4)
    assert [p.name for p in paths] == ["results.csv", "results.parquet"]
    assert "0.3333\n" in (tmp_path / "results.csv").read_text()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), frame)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        paths = write_tables({"value": [1.0]}, tmp_path)
        write_json(tmp_path / "run.json", {"status": "ok"})
    finally:
        os.umask(old)
    for path in [*paths, tmp_path / "run.json"]:
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name
