"""ISC stage: against nltools and direct scipy computations, nulls, twins, CLI."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from analysis_lib.isc import ISCParams, core, isc, twins


def _group(n_s=8, n_t=200, n_r=6, shared=0.7, seed=0, networks=True) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((n_t, n_r))
    data = shared * signal[None] + rng.standard_normal((n_s, n_t, n_r))
    coords = {"subject": [f"sub-{i:04d}" for i in range(n_s)]}
    if networks:
        coords["network_name"] = ("voxel", np.array(["a", "b"] * (n_r // 2)))
        coords["network"] = ("voxel", np.array([1, 2] * (n_r // 2)))
    return xr.DataArray(data, dims=("subject", "time", "voxel"), coords=coords, name="bold")


def test_pairwise_matches_scipy_pearson_pairs():
    bold = _group()
    z = core.zscore_time(bold.values)
    for r in range(bold.sizes["voxel"]):
        rs = [
            stats.pearsonr(bold.values[i, :, r], bold.values[j, :, r])[0]
            for i, j in itertools.combinations(range(bold.sizes["subject"]), 2)
        ]
        assert core.pairwise_isc(z, "median")[r] == pytest.approx(np.median(rs), abs=1e-10)
        fisher = np.tanh(np.mean(np.arctanh(rs)))
        assert core.pairwise_isc(z, "mean")[r] == pytest.approx(fisher, abs=1e-10)


def test_loo_matches_scipy():
    """Each subject is z-scored before the mean of the others (equal weights)."""
    bold = _group()
    z = core.zscore_time(bold.values)
    x = stats.zscore(bold.values, axis=1)
    for s in range(x.shape[0]):
        others = np.delete(x, s, axis=0).mean(axis=0)
        for r in range(x.shape[2]):
            expected = stats.pearsonr(x[s, :, r], others[:, r])[0]
            assert core.loo_values(z)[s, r] == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("summary", ["median", "mean"])
def test_pairwise_matches_nltools(summary):
    nltools_stats = pytest.importorskip("nltools.stats")
    bold = _group(n_s=9, n_t=150, n_r=4, seed=3, networks=False)
    z = core.zscore_time(bold.values)
    ours = core.pairwise_isc(z, summary)
    for r in range(bold.sizes["voxel"]):
        ref = nltools_stats._compute_isc(bold.values[:, :, r].T, metric=summary)
        assert ours[r] == pytest.approx(float(ref), abs=1e-6)


def test_shifted_pair_correlations_equal_direct_shift():
    bold = _group(n_s=6, n_t=90, n_r=3, networks=False)
    z = core.zscore_time(bold.values)
    rng = np.random.default_rng(4)
    k = core.draw_shifts(rng, 6, 90, 5)
    lags = core.shifted_pair_correlations(z, np.arange(3))
    iu0, iu1 = np.triu_indices(6, 1)
    direct = core.pair_correlations(core.circular_shift(z, k))[:, iu0, iu1]
    got = lags[:, np.arange(iu0.size), (k[iu1] - k[iu0]) % 90]
    np.testing.assert_allclose(got, direct, atol=1e-5)


def test_circular_shift_is_np_roll():
    z = np.arange(2 * 5 * 1, dtype=float).reshape(2, 5, 1)
    out = core.circular_shift(z, np.array([1, 3]))
    np.testing.assert_array_equal(out[0, :, 0], np.roll(z[0, :, 0], 1))
    np.testing.assert_array_equal(out[1, :, 0], np.roll(z[1, :, 0], 3))


def test_phase_randomise_keeps_power_and_breaks_alignment():
    bold = _group(n_s=10, n_t=256, n_r=2, shared=2.0)
    z = core.zscore_time(bold.values)
    zp = core.phase_randomise(z, np.random.default_rng(0))
    power = np.abs(np.fft.rfft(z, axis=1)) ** 2
    power_p = np.abs(np.fft.rfft(zp, axis=1)) ** 2
    np.testing.assert_allclose(power_p, power, rtol=1e-6, atol=1e-6)
    assert core.pairwise_isc(z).min() > 0.5 and abs(core.pairwise_isc(zp)).max() < 0.2


@pytest.mark.parametrize("method", ["pairwise", "loo"])
def test_null_is_calibrated_on_noise_and_detects_signal(method):
    noise = _group(n_s=10, n_t=200, n_r=40, shared=0.0, seed=5)
    params = ISCParams(method=method, n_perm=199, n_boot=50, seed=1)
    ds = isc(params, noise)
    # independent subjects: p roughly uniform (40 regions)
    assert 0.0 <= float((ds.p < 0.05).mean()) <= 0.2
    assert abs(float(ds.null_mean.mean())) < 0.02
    signal = _group(n_s=10, n_t=200, n_r=40, shared=0.5, seed=5)
    ds = isc(params, signal)
    assert bool(ds.significant.all())
    assert bool((ds.isc_low < ds.isc).all() and (ds.isc < ds.isc_high).all())
    assert ds.attrs["stage"] == "isc" and "input_bold_sha256" in ds.attrs


def test_subject_subset_null_is_wider_but_centred():
    noise = _group(n_s=16, n_t=150, n_r=5, shared=0.0, seed=6, networks=False)
    z = core.zscore_time(noise.values)
    full = core.null_distribution(z, method="pairwise", summary="median", n_perm=300)
    sub = core.null_distribution(
        z, method="pairwise", summary="median", n_perm=300, max_subjects=6
    )
    assert sub.std() > full.std()
    assert abs(sub.mean()) < 0.02 and abs(full.mean()) < 0.02


def test_same_seed_same_result_and_network_means():
    bold = _group()
    p = ISCParams(n_perm=50, n_boot=30, seed=3)
    a, b = isc(p, bold), isc(p, bold)
    xr.testing.assert_identical(a, b)
    np.testing.assert_allclose(
        a.network_isc.sel(network="a"), a.isc.values[bold.network_name.values == "a"].mean()
    )
    assert list(a.network.values) == ["a", "b"]


def test_cached_isc_reads_back_the_same_result(tmp_path, monkeypatch):
    from analysis_lib.isc import cached_isc

    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(tmp_path / "home"))
    bold = _group(seed=5)
    p = ISCParams(n_perm=40, n_boot=20, seed=1)
    first = cached_isc(p, bold)
    files = list((tmp_path / "home" / "cache" / "isc").glob("*.nc"))
    assert len(files) == 1
    second = cached_isc(p, bold)
    np.testing.assert_array_equal(first.isc.values, isc(p, bold).isc.values)
    xr.testing.assert_identical(first, second)
    other = cached_isc(p, bold + 0.1 * _group(seed=6))  # other data: another entry
    assert not np.array_equal(other.isc.values, first.isc.values)
    assert len(list(files[0].parent.glob("*.nc"))) == 2


def test_bad_inputs():
    bold = _group()
    bad = bold.copy()
    bad.values[1, :, 2] = 1.0
    with pytest.raises(ValueError, match="constant time series \\(subject 1, region 2\\)"):
        isc(ISCParams(n_perm=5, n_boot=5), bad)
    with pytest.raises(ValueError, match="dims"):
        isc(ISCParams(), bold.transpose("time", "subject", "voxel"))
    with pytest.raises(ValueError, match="isc: method must be one of"):
        ISCParams(method="spearman")


def _twin_data(n_pairs=12, n_t=150, n_r=4, seed=0):
    """Twins share an extra signal (MZ more than DZ); other viewers share only the film."""
    rng = np.random.default_rng(seed)
    film = rng.standard_normal((n_t, n_r))
    data, rows, people = [], [], []
    for p in range(n_pairs):
        zyg = "MZ" if p % 2 == 0 else "DZ"
        fam = rng.standard_normal((n_t, n_r)) * (1.0 if zyg == "MZ" else 0.5)
        for _twin in "ab":
            data.append(0.5 * film + fam + rng.standard_normal((n_t, n_r)))
        sex = "F" if p % 4 < 2 else "M"
        a, b = f"sub-{2 * p:04d}", f"sub-{2 * p + 1:04d}"
        rows.append(
            {
                "family_id": f"fam-{p}",
                "twin_a": a,
                "twin_b": b,
                "zygosity": zyg,
                "sex_b": sex,
                "age_b": "12",
                "table_control_a": "",
                "table_control_b": f"sub-{(2 * p + 5) % (2 * n_pairs):04d}",
            }
        )
        people += [(a, f"fam-{p}", sex, "12"), (b, f"fam-{p}", sex, "12")]
    ids = [s for r in rows for s in (r["twin_a"], r["twin_b"])]
    bold = xr.DataArray(
        np.array(data),
        dims=("subject", "time", "voxel"),
        coords={
            "subject": ids,
            "network_name": ("voxel", np.array(["x"] * n_r)),
            "network": ("voxel", np.ones(n_r, int)),
        },
    )
    people = pd.DataFrame(people, columns=["participant_id", "family_id", "sex", "age_ses02"])
    return bold, pd.DataFrame(rows), people


@pytest.mark.parametrize("controls", ["age-sex", "table"])
def test_twins_detects_family_signal(controls):
    bold, pairs, people = _twin_data()
    params = ISCParams(pairs="twins", controls=controls, n_perm=20, n_boot=50, n_perm_twins=999)
    ds = isc(params, bold, pairs=pairs, people=people)
    assert ds.twin_isc.shape == (12, 4) and ds.control_isc.shape == (12, 4)
    assert float(ds.twins_p_twin.sel(network="x")) < 0.01
    assert float(ds.twins_difference_low.sel(network="x")) > 0
    assert float(ds.twins_p_mz.sel(network="x")) < 0.05
    z = core.zscore_time(bold.values)
    direct = stats.pearsonr(bold.values[0, :, 1], bold.values[1, :, 1])[0]
    assert float(ds.twin_isc[0, 1]) == pytest.approx(direct, abs=1e-10)
    assert z.shape[0] == 24


def test_twins_null_when_no_family_signal():
    rng = np.random.default_rng(1)
    bold, pairs, people = _twin_data()
    shuffled = bold.copy(data=0.5 * bold.values[:1] * 0 + rng.standard_normal(bold.shape))
    t, c, n = twins.pair_isc(
        core.zscore_time(shuffled.values),
        list(shuffled.subject.values),
        pairs,
        people.set_index("participant_id"),
    )
    table = twins.network_tests(
        t, c, pairs.zygosity.to_numpy(), {"x": np.ones(4, bool)}, n_perm=999
    )
    assert table.loc["x", "p_twin"] > 0.01 and (n > 0).all()


def test_cli_on_real_subjects(tmp_path):
    from analysis_lib.cli import main
    from analysis_lib.datasets import partly_cloudy as pc
    from analysis_lib.io import read_netcdf

    try:
        subs = pc.subjects()
    except FileNotFoundError:
        pytest.skip("Partly Cloudy data not under the data roots")
    with pytest.warns(UserWarning):
        pairs = pc.twin_pairs(subject_ids=subs)
    chosen = sorted({*pairs.twin_a[:3], *pairs.twin_b[:3]})
    out = tmp_path / "isc.nc"
    argv = ["isc", "--dataset", "partly-cloudy", "--subjects", *chosen, "--pairs", "twins"]
    argv += ["--n-perm", "20", "--n-boot", "20", "--n-perm-twins", "99", "--quiet"]
    with pytest.warns(UserWarning):
        assert main([*argv, "--out", str(out)]) == 0
    ds = read_netcdf(out)
    assert ds.sizes["voxel"] == 293 and ds.sizes["pair"] == 3
    assert ds.attrs["n_subjects"] == 6 and ds.attrs["stage"] == "isc"
    assert {"twin_isc", "control_isc", "network_isc", "q"} <= set(ds.data_vars)
    with pytest.raises(SystemExit):
        main(["isc", "--dataset", "partly-cloudy", "--method", "bad", "--out", "x"])
    bad = ["isc", "--dataset", "partly-cloudy", "--subjects", "sub-9999", "--out", "x"]
    assert main(bad) == 2


def test_pairwise_matches_nltools_on_real_regions():
    nltools_stats = pytest.importorskip("nltools.stats")
    from analysis_lib.datasets import partly_cloudy as pc

    try:
        subs = pc.subjects()[:12]
    except FileNotFoundError:
        pytest.skip("Partly Cloudy data not under the data roots")
    bold = pc.load_group(subs)
    z = core.zscore_time(bold.values)
    regions = [0, 150, 280]
    for summary in ("median", "mean"):
        ours = core.pairwise_isc(z[:, :, regions], summary)
        for k, r in enumerate(regions):
            ref = nltools_stats._compute_isc(bold.values[:, :, r].T, metric=summary)
            assert ours[k] == pytest.approx(float(ref), abs=1e-6)
