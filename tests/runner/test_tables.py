"""The table schema, built one way for runs and sweeps; atomic writes: a failure
while writing leaves the old file (or none), never half."""

from __future__ import annotations

import csv
import os
import stat
import tempfile
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runner.compute.labels import Result
from runner.compute.rows import COLUMNS, result_columns, swept_columns
from runner.results.tables import atomic_write, write_json, write_tables

from ..strategies import float_columns, precisions


def test_a_sweeps_rows_are_each_points_run_rows_in_turn():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in [(3, 4, 2), (3,), (3, 5)]]
    names = [("grad", "arg0", ""), ("value", "", ""), ("aux", "", "[1]")]
    swept = result_columns([Result(*n, a) for n, a in zip(names, arrays)], points=3)
    runs = [result_columns([Result(*n, a[p]) for n, a in zip(names, arrays)])
            for p in range(3)]  # fmt: skip
    assert list(swept) == list(COLUMNS)
    for column in COLUMNS:
        np.testing.assert_array_equal(
            swept[column], np.concatenate([run[column] for run in runs])
        )
    assert swept["shape"][:2].tolist() == ["4,2", "4,2"]
    assert swept["index"].dtype == np.int64 and swept["index"][:9].tolist() == [
        0, 1, 2, 3, 4, 5, 6, 7, 0]  # fmt: skip


def test_swept_columns_are_numbers_per_element_or_text():
    grid = swept_columns("inputs.0", np.arange(12.0).reshape(3, 2, 2) / 10)
    assert list(grid) == [f"inputs.0[{i},{j}]" for i in range(2) for j in range(2)]
    assert grid["inputs.0[0,1]"].tolist() == [0.1, 0.5, 0.9]  # not 0.5000000000000001
    assert swept_columns("model", ["a", 1.0])["model"].tolist() == ["a", "1.0"]


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


def _rounded(value, digits):
    """The reference: ``value`` rounded half-even to ``digits`` significant digits
    in exact decimal arithmetic; kept whole when not finite, or when its rounding
    overflows (1.8e308 to one digit is 2e308)."""
    if digits is None or not np.isfinite(value) or value == 0:
        return float(value)
    exact = Decimal(float(value))
    step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    rounded = float(exact.quantize(step, rounding=ROUND_HALF_EVEN))
    return rounded if np.isfinite(rounded) else float(value)


def _csv_values(path):
    with open(path, newline="") as handle:
        return [float(row["value"]) for row in csv.DictReader(handle)]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([32, 64]).flatmap(float_columns), precisions())
@example(np.array([-9.86e-305, 5e-324, 1.7976931348623157e308]), 6)
@example(np.array([1e-45, -3.4028235e38, 1.1754942e-38], np.float32), 1)
def test_csv_holds_the_parquet_value_rounded(values, precision):
    with tempfile.TemporaryDirectory() as folder:
        columns = result_columns([Result("value", "", "", values)])
        write_tables(columns, Path(folder), precision=precision)
        parquet = pd.read_parquet(Path(folder) / "results.parquet")["value"]
        written = _csv_values(Path(folder) / "results.csv")
    np.testing.assert_array_equal(parquet, values.astype(np.float64))
    want = [_rounded(v, precision) for v in parquet]
    np.testing.assert_array_equal(written, want)
    assert np.isfinite(written).tolist() == np.isfinite(values).tolist()


def test_swept_values_keep_the_whole_float_range():
    values = [-9.86e-305, 5e-324, 1.7976931348623157e308, 0.7000000000000001]
    swept = swept_columns("model.a", values)["model.a"]
    assert swept.tolist() == [_rounded(v, 15) for v in values]
    assert swept.tolist()[-1] == 0.7


def test_empty_cells_stay_empty_when_rounded(tmp_path):
    column = np.array([1 / 3, None], dtype=object)  # a text-or-number column
    write_tables({"model.a": column}, tmp_path, ["csv"], precision=2)
    assert (tmp_path / "results.csv").read_text().split("\n")[1:3] == ["0.33", ""]


def test_every_swept_element_column_is_read_back_by_one_pattern():
    import numpy as np

    from runner.compute.rows import ELEMENT_COLUMN, swept_columns

    names = swept_columns("inputs.1", np.zeros((4, 2, 3))).keys()
    keys = {ELEMENT_COLUMN.match(n)["key"] for n in names}
    indices = sorted(ELEMENT_COLUMN.match(n)["index"] for n in names)
    assert keys == {"inputs.1"} and indices[0] == "0,0" and len(indices) == 6
    assert ELEMENT_COLUMN.match("model.b") is None  # a swept number: no element
