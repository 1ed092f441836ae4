"""Scoring of (atom, network) assignments on hand-made cases (issue 14 item 2)."""

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import precision_recall_fscore_support

from analysis_lib import validation_score as vs

NETS = ["A", "B", "C"]


def _pairs(rows):
    return xr.DataArray(
        np.array(rows, bool), dims=("atom", "network"), coords={"atom": [0, 1, 2], "network": NETS}
    )


def test_score_pairs_counts_errors_by_hand():
    truth = _pairs([[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    pred = _pairs([[1, 0, 0], [0, 1, 0], [1, 0, 0]])  # 2 TP, 1 FP (atom 2), 1 miss (1, C)
    s = vs.score_pairs(pred, truth)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 1)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3)
    assert s["per_network_recall"] == {"A": 1.0, "B": 1.0, "C": 0.0}
    ref = precision_recall_fscore_support(
        truth.values.ravel(), pred.values.ravel(), average="binary", zero_division=0
    )
    assert s["precision"] == pytest.approx(ref[0])
    assert s["recall"] == pytest.approx(ref[1])
    assert s["f1"] == pytest.approx(ref[2])


def test_false_assignments_cost_precision():
    truth = _pairs([[1, 0, 0], [0, 0, 0], [0, 0, 0]])
    everything = _pairs(np.ones((3, 3)))
    s = vs.score_pairs(everything, truth)
    assert s["recall"] == 1.0 and s["precision"] == pytest.approx(1 / 9)
    assert s["f1"] < 0.25
    nothing = vs.score_pairs(_pairs(np.zeros((3, 3))), truth)
    assert nothing["f1"] == 0.0 and nothing["precision"] == 0.0


def test_carried_features_and_truth_pairs(rng):
    t = 200
    x = rng.standard_normal((t, 2))
    atoms = np.column_stack([x[:, 0] + 0.2 * rng.standard_normal(t), rng.standard_normal(t)])
    a = xr.DataArray(atoms, dims=("time", "atom"), coords={"atom": [0, 1]})
    f = xr.DataArray(x, dims=("time", "feature"), coords={"feature": ["f", "g"]})
    c = vs.carried_features(a, f)
    assert c.values.tolist() == [[True, False], [False, False]]
    fn = xr.DataArray(
        np.array([[1, 1, 0], [0, 0, 1]], bool),
        dims=("feature", "network"),
        coords={"feature": ["f", "g"], "network": NETS},
    )
    truth = vs.truth_pairs(c, fn)
    assert truth.values.tolist() == [[True, True, False], [False, False, False]]
    with pytest.raises(ValueError, match="clock"):
        vs.carried_features(a.isel(time=slice(0, 10)), f)


def test_predicted_pairs_and_null_fpr():
    corr = xr.Dataset(
        {
            "p_fdr": (("atom", "network"), [[0.01, 0.2, np.nan], [0.04, 0.06, 0.5]]),
            "p": (("atom", "network"), [[0.001, 0.04, np.nan], [0.01, 0.3, 0.5]]),
        },
        coords={"atom": [0, 1], "network": NETS},
        attrs={"alpha_assign": 0.05},
    )
    assert vs.predicted_pairs(corr).values.tolist() == [[True, False, False], [True, False, False]]
    assert vs.null_fpr(corr) == pytest.approx(3 / 6)


def test_mean_interval_matches_scipy():
    from scipy import stats

    v = [0.1, 0.2, 0.4, 0.3]
    out = vs.mean_interval(v)
    lo, hi = stats.t.interval(0.95, 3, loc=np.mean(v), scale=stats.sem(v))
    assert out["low"] == pytest.approx(lo) and out["high"] == pytest.approx(hi)
    assert vs.mean_interval([0.5])["low"] == 0.5
