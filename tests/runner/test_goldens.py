"""Golden tables: compared row by row, and never half-written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runner.results.goldens import compare_tables, read_golden, write_golden


def test_compare_lists_missing_and_new_rows():
    a = pd.DataFrame({"quantity": ["grad", "value"], "index": ["()", "()"],
                      "value": [1.0, 2.0]})  # fmt: skip
    b = pd.DataFrame({"quantity": ["grad", "aux", "aux"], "index": ["()"] * 3,
                      "value": [1.0, 3.0, 4.0]})  # fmt: skip
    assert compare_tables(a, b, 1e-5, 1e-6) == [
        "1 row(s) missing: [quantity=value index=()]",
        "2 row(s) new: [quantity=aux index=()], [quantity=aux index=()]",
    ]
    assert compare_tables(a, a[["value", "quantity", "index"]], 0, 0)[0].startswith(
        "columns: expected ['quantity', 'index', 'value']"
    )


def test_an_interrupted_golden_write_keeps_the_old_golden(tmp_path, monkeypatch):
    golden = tmp_path / "goldens" / "x.csv"
    write_golden(pd.DataFrame({"value": [1.0]}), golden)

    def interrupted(self, path, **kwargs):
        Path(path).write_text(",val")  # a first chunk, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_golden(pd.DataFrame({"value": [2.0]}), golden)
    monkeypatch.undo()
    assert read_golden(golden)["value"].tolist() == [1.0]
    assert [f.name for f in golden.parent.iterdir()] == ["x.csv"]
