"""Models and functions that configs name: ``_target_: models.<module>.<name>``.

They use ``runner.core`` only, like any user model would.
"""
