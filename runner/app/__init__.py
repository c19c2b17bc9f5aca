"""Stage 4, the application: the command line, jobs, sweeps and what runs them.

The ``runner`` command (:mod:`.cli`, its help and completion in :mod:`.usage`),
one job (:mod:`.job`), ``-m`` sweeps and their Hydra callbacks (:mod:`.sweep`,
:mod:`.progress`), launchers that contain dead workers (:mod:`.launcher`) and the
pytest plugin. Imports every stage below it.
"""
