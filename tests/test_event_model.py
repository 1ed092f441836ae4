"""Event model: regressors against nilearn, the clock lag scan, the GLM contrast, ROIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from analysis_lib import event_model as em

EVENTS = pd.DataFrame(
    {
        "onset": [10.0, 40.0, 70.0, 100.0, 130.0, 160.0, 190.0, 220.0],
        "duration": [6.0, 8.0, 4.0, 6.0, 10.0, 6.0, 8.0, 4.0],
        "trial_type": ["mental", "pain", "social", "control"] * 2,
    }
)
TIMES = 0.8 * np.arange(300)


def test_regressors_match_nilearn_compute_regressor():
    from nilearn.glm.first_level import compute_regressor

    reg = em.event_regressors(EVENTS, TIMES, offset=1.5)
    sel = EVENTS[EVENTS.trial_type == "pain"]
    cond = np.vstack([sel.onset + 1.5, sel.duration, np.ones(len(sel))])
    ref, _ = compute_regressor(cond, "spm", TIMES, oversampling=50)
    np.testing.assert_allclose(reg.sel(atom="pain").values, ref[:, 0], atol=1e-3)
    assert reg.dims == ("time", "atom") and str(reg.atom.values[0]) == "mental"


def _group(lag: float, n_s=6, n_r=4, seed=0, weights=(1.0, 0.0, -1.0, 0.0)):
    rng = np.random.default_rng(seed)
    x = em.event_regressors(EVENTS, TIMES, offset=lag).values
    signal = x @ np.asarray(weights)
    data = signal[None, :, None] + 0.5 * rng.standard_normal((n_s, TIMES.size, n_r))
    return xr.DataArray(
        data,
        dims=("subject", "time", "voxel"),
        coords={
            "subject": [f"s{i}" for i in range(n_s)],
            "time": TIMES,
            "network_name": ("voxel", np.array(["visual I", "default mode"] * (n_r // 2))),
        },
        attrs={"tr": 0.8},
    )


@pytest.mark.parametrize("true_lag", [0.0, 4.0])
def test_lag_scan_recovers_a_known_offset(true_lag):
    bold = _group(true_lag, weights=(1.0, 0.5, -1.0, 0.3))
    scan = em.clock_lag_scan(bold, EVENTS, networks=("visual I", "default mode"), band=None)
    assert scan.attrs["best_lag_mean_s"] == pytest.approx(true_lag, abs=0.41)
    assert bool((scan.r2.max("lag") > scan.r2_null_95).all())
    expected = 0.0 if abs(true_lag) <= 2 else true_lag
    assert em.justified_offset(scan) == pytest.approx(expected, abs=0.41)


def test_justified_offset_refuses_disagreeing_networks():
    scan = xr.Dataset({"best_lag": ("network", [0.0, 6.0])}, attrs={"best_lag_mean_s": 3.0})
    assert em.justified_offset(scan) == 0.0
    scan = xr.Dataset({"best_lag": ("network", [3.0, 3.4])}, attrs={"best_lag_mean_s": 3.2})
    assert em.justified_offset(scan) == 3.2
    # a peak under chance justifies nothing
    scan["r2"] = (("lag", "network"), [[0.1, 0.1], [0.2, 0.2]])
    scan = scan.assign_coords(lag=[0.0, 3.2])
    scan["r2_null_95"] = ("network", [0.3, 0.3])
    assert em.justified_offset(scan) == 0.0
    scan["r2_null_95"] = ("network", [0.15, 0.15])
    assert em.justified_offset(scan) == 3.2


def test_event_glm_finds_the_planted_contrast_and_nothing_in_noise():
    bold = _group(0.0, n_s=8, n_r=4, weights=(1.0, 0.0, -1.0, 0.0))
    glm = em.event_glm(bold, EVENTS)
    assert glm.beta.dims == ("subject", "atom", "voxel")
    assert bool((glm.contrast_mean > 1.0).all()) and bool(glm.significant.all())
    noise = bold.copy(data=np.random.default_rng(3).standard_normal(bold.shape))
    glm0 = em.event_glm(noise, EVENTS)
    assert not bool(glm0.significant.any())
    with pytest.raises(ValueError, match="unknown event type"):
        em.event_glm(bold, EVENTS, contrast={"joy": 1.0})


def test_select_regions_rule_on_real_table():
    from analysis_lib.datasets import partly_cloudy as pc

    try:
        table = pc.regions()
    except FileNotFoundError:
        pytest.skip("Partly Cloudy data not under the data roots")
    areas = em.select_regions(table)
    assert set(areas) == set(em.EXPECTED_SIGN)
    for area, mask in areas.items():
        assert mask.any(), area
        assert (table.atlas[mask] == "shen268").all()
    assert (np.abs(table.x[areas["TPJ"]]) >= 35).all()
    assert (table.y[areas["mPFC"]] >= 30).all()
