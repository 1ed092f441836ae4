"""Null calibration on real BOLD with wrong-stimulus atoms (analysis_lib.calibration)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_lib import calibration as cal
from analysis_lib.datasets import alice


def test_resample_known_answer():
    atoms = np.column_stack([np.arange(5.0), 10 * np.arange(5.0)])  # TR 2 s, 0..8 s
    out = cal._resample(atoms, 2.0, np.array([20.0, 21.0, 24.0, 29.0]))
    # relative times 0, 1, 4 and 9 -> 9 mod 8 = 1
    np.testing.assert_allclose(out[:, 0], [0.0, 0.5, 2.0, 0.5])
    np.testing.assert_allclose(out[:, 1], 10 * out[:, 0])


def test_params_refuse_bad_input():
    with pytest.raises(ValueError, match="dataset must be one of"):
        cal.WrongStimulusParams(dataset="narratives")
    with pytest.raises(ValueError, match="controls must be"):
        cal.WrongStimulusParams(controls=("forward",))
    with pytest.raises(ValueError, match="n_perm"):
        cal.WrongStimulusParams(n_perm=5)


def test_wrong_stimulus_null_on_real_alice():
    """The stage's p values on real BOLD: reversed atoms are the real atoms played
    backwards, every test gets a rate with an interval, and the shift null stays near its
    level where the parametric test does not."""
    if not alice.available():
        pytest.skip("the Alice data are not under the extra data roots")
    from analysis_lib import datasets
    from analysis_lib.comparison.features import FeatureSpec, build

    subs = datasets.subjects("alice")[:4]
    params = cal.WrongStimulusParams(controls=("reversed",), n_perm=99)
    null = cal.wrong_stimulus_null(params, subs)
    assert null["pvalue"].dims == ("control", "test", "subject", "atom", "region")
    assert null.sizes["subject"] == 4 and np.isfinite(null["pvalue"]).all()
    times = datasets.load("alice", subs[0])["time"].values
    real = build(FeatureSpec("atoms", "minilm", k=16)).values
    np.testing.assert_allclose(cal.wrong_atoms(params, times)["reversed"], real[::-1])
    rates = cal.rejection_rates(null)
    r = rates["rate"].sel(control="reversed")
    assert int(rates["n_tests"].sel(control="reversed", test="shift")) == 4 * 16 * 6
    assert float(r.sel(test="shift")) < 0.12
    assert float(r.sel(test="parametric")) > float(r.sel(test="shift"))
    lo, hi = rates["low"].values, rates["high"].values
    assert np.all(lo <= rates["rate"].values) and np.all(rates["rate"].values <= hi)


def test_partial_null_params_refuse_bad_input():
    with pytest.raises(ValueError, match="labelled by network"):
        cal.PartialNullParams(dataset="alice")
    with pytest.raises(ValueError, match="n_draws"):
        cal.PartialNullParams(n_draws=0)
    with pytest.raises(ValueError, match="amplitude"):
        cal.PartialNullParams(amplitude=-1)


def test_partial_null_on_real_partly_cloudy():
    """Random atoms planted in one network of real BOLD: the planted network is found,
    the shift test stays near its level in the other networks, and the subject-level test
    (the same chance correlation with the shared response in every subject) does not."""
    from analysis_lib.datasets import partly_cloudy

    if not partly_cloudy.available():
        pytest.skip("the Partly Cloudy data are not under the extra data roots")
    subs = partly_cloudy.all_subjects()[:12]
    params = cal.PartialNullParams(n_draws=24, amplitude=0.3, n_shift=100)
    null = cal.partial_null(params, subs)
    assert null.sizes["network"] == 8 and null.attrs["n_subjects"] == 12
    assert set(null["planted"].values) == set(null["network"].values)
    rates = cal.partial_null_rates(null)
    assert float(rates["rate"].sel(test="shift", pair="planted")) >= 0.8
    assert float(rates["rate"].sel(test="shift", pair="other")) <= 0.12
    assert float(rates["rate"].sel(test="subject", pair="other")) > 2 * float(
        rates["rate"].sel(test="shift", pair="other")
    )
    # without a planted effect every pair is a null pair and nothing is "planted" power
    zero = cal.partial_null_rates(
        cal.partial_null(cal.PartialNullParams(n_draws=8, amplitude=0.0, n_shift=100), subs)
    )
    assert float(zero["rate"].sel(test="shift", pair="planted")) <= 0.375
    # same seed, same p values
    again = cal.partial_null(params, subs)
    np.testing.assert_array_equal(again["pvalue"].values, null["pvalue"].values)
