"""The structured schema catches typos when a config is composed."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException

from ..conftest import EXPERIMENTS


@pytest.mark.parametrize(
    "override",
    ["diff.kindd=grad", "diff.kind=grda", "diff.has_aux=maybe", "seed=abc",
     "output.summary=loud", "unknown=1"],
)  # fmt: skip
def test_typos_fail_at_composition(compose, override):
    with pytest.raises(ConfigCompositionException):
        compose("+exp=jacobian", override)


def test_every_experiment_composes_with_a_model(compose):
    assert len(EXPERIMENTS) >= 15
    for name in EXPERIMENTS:
        cfg = compose(f"+exp={name}")
        assert cfg.model._target_.startswith("models."), name
        assert cfg.diff.kind.name in {"grad", "vector_grad", "jacobian", "jacrev",
                                      "jacfwd", "hessian"}  # fmt: skip
