"""The regression-test plugin on a user's own config directory (pytester runs)."""

from __future__ import annotations

import pandas as pd
import pytest

from runner.app.pytest_plugin import compose_experiment, experiment_table

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow  # each pytester run composes and runs an experiment

EXPERIMENT = """\
# @package _global_
defaults:
  - override /model: my_fhn
method: vector_field
inputs:
  - [-1.19941, -0.62426]
diff:
  kind: jacfwd
"""
MODEL = "_target_: runner.models.neuro.FitzHughNagumo\nb: {b}\ntau: 12.5\n"


@pytest.fixture(autouse=True, scope="module")
def _imported_once():
    """Run one experiment here first: in-process pytester runs drop the modules
    they import, and JAX, pyarrow and pandas' Arrow types cannot load twice."""
    experiment_table(compose_experiment("grad"))


def _configs(pytester, b=0.8, experiment=EXPERIMENT):
    root = pytester.path / "myconfigs"
    (root / "exp").mkdir(parents=True, exist_ok=True)
    (root / "model").mkdir(exist_ok=True)
    (root / "exp" / "fhn.yaml").write_text(experiment)
    (root / "model" / "my_fhn.yaml").write_text(MODEL.format(b=b))
    return root


def _run(pytester, *args):
    return pytester.runpytest_inprocess("--runner-configs", "myconfigs", *args)


def test_first_run_writes_the_golden_then_passes(pytester):
    root = _configs(pytester)
    first = _run(pytester)
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*golden table created: *goldens/fhn.csv*"])
    golden = pd.read_csv(root / "goldens" / "fhn.csv", index_col=0)
    # The Jacobian [[1 - v^2, -1], [1/tau, -b/tau]] at v = -1.19941.
    assert golden["value"].tolist() == pytest.approx(
        [1 - 1.19941**2, -1.0, 0.08, -0.064], rel=1e-5
    )
    _run(pytester).assert_outcomes(passed=1)


def test_a_changed_model_fails_with_a_diff_and_force_regen_rewrites(pytester):
    root = _configs(pytester)
    _run(pytester)
    _configs(pytester, b=0.6)  # -b/tau: -0.064 becomes -0.048
    changed = _run(pytester)
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        [
            "experiment 'fhn' differs from its golden *fhn.csv (rtol 1e-05, atol "
            "1e-06):",
            "row 3 [quantity=grad wrt=arg0 shape=2,2 index=3]: value expected -0.064, "
            "got -0.048 (diff 0.016)",
            "*--force-regen*",
        ]
    )
    assert "row 0" not in changed.stdout.str()  # unchanged rows are not listed
    regen = _run(pytester, "--force-regen")
    regen.assert_outcomes(failed=1)
    regen.stdout.fnmatch_lines(["*golden table rewritten (--force-regen)*"])
    golden = pd.read_csv(root / "goldens" / "fhn.csv", index_col=0)
    assert golden["value"].iloc[3] == pytest.approx(-0.048)
    _run(pytester).assert_outcomes(passed=1)


def test_ini_options_tolerances_and_overrides(pytester):
    _configs(pytester)
    pytester.makeini(
        "[pytest]\nrunner_configs = myconfigs\nrunner_goldens = goldens\n"
        "runner_atol = 0.02\nrunner_overrides =\n    fhn: model.b=0.8\n"
    )
    pytester.runpytest_inprocess().assert_outcomes(failed=1)  # golden created
    assert (pytester.path / "goldens" / "fhn.csv").exists()
    _configs(pytester, b=0.6)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)  # the override wins
    run = pytester.runpytest_inprocess("-o", "runner_overrides=", "--runner-atol=0")
    run.assert_outcomes(failed=1)


def test_a_missing_package_line_is_named(pytester):
    _configs(pytester, experiment=EXPERIMENT.replace("# @package _global_\n", ""))
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*# @package _global_*"])


def test_a_failing_experiment_reports_its_one_line_error(pytester):
    _configs(pytester, experiment=EXPERIMENT.replace("vector_field", "nope"))
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["experiment 'fhn' failed: method: *'nope'*"])


def test_an_option_without_exp_directory_is_a_usage_error(pytester):
    result = pytester.runpytest_inprocess("--runner-configs", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--runner-configs: nowhere has no exp/ directory*"])
