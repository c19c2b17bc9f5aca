"""Stage 3, results on disk and back.

Writing the tables (CSV and Parquet), the records (``run.json``, ``sweep.json``),
what a run may do to its directory, gathering a sweep, plots, the console
summary, and loading results back (:func:`load`, re-exported here as the public
``runner.results.load``). Imports :mod:`runner.compute` and :mod:`runner.config`.
"""

from .loader import LayoutError, Results, SelectionError, load, read_table

__all__ = ["LayoutError", "Results", "SelectionError", "load", "read_table"]
