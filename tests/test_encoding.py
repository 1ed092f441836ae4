"""Correctness of analysis_lib.encoding: references, known truth, null calibration, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from scipy import stats
from scipy.signal import lfilter

from analysis_lib.encoding import fdr_bh, fit_encoding
from analysis_lib.encoding import nulls as nl
from analysis_lib.encoding.design import drift_regressors

TR = 2.0


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small problems: one torch thread avoids stalls on a shared CPU (restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ar1_noise(rng, n_time, n_vox, rho):
    """Stationary AR(1) noise, unit innovation, shape (n_time, n_vox)."""
    e = rng.standard_normal((n_time + 50, n_vox))
    return lfilter([1.0], [1.0, -rho], e, axis=0)[50:]


def smooth_atoms(rng, n_time, n_atoms):
    """Autocorrelated regressors (AR(1), rho 0.8), like HRF-convolved features."""
    return ar1_noise(rng, n_time, n_atoms, 0.8)


def full_design(atoms, confounds, n_time):
    drift = drift_regressors(TR * np.arange(n_time), "cosine", 0.01).to_numpy()
    parts = [atoms] + ([confounds] if confounds is not None else []) + [drift]
    return np.hstack(parts)


# --------------------------------------------------------------------------- references


def test_ols_matches_lstsq_and_nilearn(rng):
    from nilearn.glm.contrasts import compute_contrast
    from nilearn.glm.first_level import run_glm

    n_time, n_atoms, n_vox = 120, 3, 40
    atoms = smooth_atoms(rng, n_time, n_atoms)
    motion = rng.standard_normal((n_time, 2))
    bold = atoms @ rng.standard_normal((n_atoms, n_vox)) + ar1_noise(rng, n_time, n_vox, 0.4)
    bold += 100.0
    ds = fit_encoding(atoms, bold, motion, tr=TR, n_perm=0, cv=None, progress=False)
    X = full_design(atoms, motion, n_time)
    beta_ref = np.linalg.lstsq(X, bold, rcond=None)[0]
    resid = bold - X @ beta_ref
    dof = n_time - X.shape[1]
    sigma2 = (resid**2).sum(0) / dof
    se = np.sqrt(sigma2[None, :] * np.diag(np.linalg.inv(X.T @ X))[:, None])
    t_ref = beta_ref / se
    np.testing.assert_allclose(ds.beta.values, beta_ref[:n_atoms], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ds.tstat.values, t_ref[:n_atoms], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        ds.pvalue_param.values, 2 * stats.t.sf(np.abs(t_ref[:n_atoms]), dof), atol=1e-9
    )
    assert ds.attrs["dof"] == dof

    for noise_model in ("ols", "ar1"):
        ours = fit_encoding(
            atoms,
            bold,
            motion,
            tr=TR,
            n_perm=0,
            cv=None,
            noise_model=noise_model,
            progress=False,
        )
        labels, results = run_glm(bold, X, noise_model=noise_model)
        for k in range(n_atoms):
            con = np.eye(X.shape[1])[k]
            c = compute_contrast(labels, results, con, stat_type="t")
            np.testing.assert_allclose(ours.beta.values[k], c.effect_size(), rtol=0, atol=1e-6)
            np.testing.assert_allclose(ours.tstat.values[k], c.stat(), rtol=0, atol=1e-6)
    assert np.unique(ours.ar1_rho.values).size > 1  # several AR(1) groups were exercised


@pytest.mark.parametrize(
    ("kind", "rho", "fft"),
    [
        ("shift", None, True),
        ("shift", None, False),
        ("shift", 0.35, False),
        ("phase", None, False),
    ],
)
def test_null_tstats_equal_bruteforce_refits(rng, kind, rho, fft):
    """Every surrogate t value equals a full lstsq refit of the surrogate design."""
    n_time, n_atoms, n_vox = 60, 2, 7
    atoms = smooth_atoms(rng, n_time, n_atoms)
    nuis = np.column_stack(
        [np.ones(n_time), np.linspace(-1, 1, n_time), rng.standard_normal(n_time)]
    )
    Y = rng.standard_normal((n_time, n_vox))
    spec = nl.draw_null(kind, n_time, 9, seed=3)
    A, N, Yt = (torch.as_tensor(x) for x in (atoms, nuis, Y))
    ctx = nl.build_context(A, N, spec, rho=rho, dtype=torch.float64, batch=4, fft=fft)
    got = torch.cat([t for _, t in nl.null_abs_tstats(ctx, spec, Yt, batch=4)]).numpy()
    surr = nl.surrogate_atoms(A, spec, np.arange(spec.n_perm)).numpy()
    for p in range(spec.n_perm):
        X = np.hstack([surr[p], nuis])
        y = Y.copy()
        if rho is not None:
            X = np.vstack([X[:1], X[1:] - rho * X[:-1]])
            y = np.vstack([y[:1], y[1:] - rho * y[:-1]])
        b = np.linalg.lstsq(X, y, rcond=None)[0]
        s2 = ((y - X @ b) ** 2).sum(0) / (n_time - X.shape[1])
        t = b / np.sqrt(s2[None] * np.diag(np.linalg.inv(X.T @ X))[:, None])
        np.testing.assert_allclose(got[p], np.abs(t[:n_atoms]), rtol=1e-8)
    if kind == "shift":
        np.testing.assert_array_equal(surr[0], np.roll(atoms, spec.shifts[0], axis=0))
    else:  # phase randomization keeps every atom's amplitude spectrum
        np.testing.assert_allclose(
            np.abs(np.fft.rfft(surr, axis=1)),
            np.broadcast_to(np.abs(np.fft.rfft(atoms, axis=0)), surr[:, :31].shape),
            atol=1e-9,
        )


def test_fdr_bh_matches_scipy(rng):
    p = rng.uniform(size=(3, 500)) ** 2
    np.testing.assert_allclose(fdr_bh(p), stats.false_discovery_control(p, axis=1), atol=1e-12)
    p[0, :10] = np.nan
    np.testing.assert_allclose(
        fdr_bh(p)[0, 10:], stats.false_discovery_control(p[0, 10:]), atol=1e-12
    )
    assert np.isnan(fdr_bh(p)[0, :10]).all()


# --------------------------------------------------------------------------- calibration


@pytest.mark.parametrize("null", ["shift", "phase"])
def test_null_calibration_per_voxel_ar1_noise(rng, null):
    """AR(1) noise, no signal, 10,000 voxel tests: pvalue_perm rejects 4-6 % at 0.05.

    The OLS parametric p values of the same fits are anticonservative (the check has
    teeth: a naive test would fail it).
    """
    n_time, n_atoms, n_vox = 150, 2, 5000
    atoms = smooth_atoms(rng, n_time, n_atoms)
    bold = ar1_noise(rng, n_time, n_vox, 0.5)
    ds = fit_encoding(atoms, bold, tr=TR, n_perm=1000, cv=None, null=null, progress=False)
    assert ds.attrs["n_time"] == n_time
    n_tests = ds.pvalue_perm.size
    assert n_tests >= 10_000
    rate = float((ds.pvalue_perm.values <= 0.05).mean())
    assert 0.04 <= rate <= 0.06, rate
    naive = float((ds.pvalue_param.values <= 0.05).mean())
    assert naive > 0.07, naive


def test_fwe_calibration_over_repeated_null_datasets():
    """Whole-map FWE rejections occur in ~5 % of independent null datasets.

    600 datasets (T=100, 30 voxels, 1 atom, all 99 circular shifts, AR(1) noise rho 0.5,
    a new atom each time), each a Bernoulli trial of "some voxel has pvalue_fwe <= 0.05".
    Under a valid test the count is Binomial(600, 0.05) (mean 30, sd 5.3); we accept the
    central 99.9 % interval [binom.ppf(0.0005), binom.ppf(0.9995)] = [14, 49], i.e. a rate
    in [2.3 %, 8.2 %]. A test without autocorrelation-aware nulls (Bonferroni on the naive
    OLS p values) is also counted and must fall above that interval.
    """
    n_sets, n_time, n_vox = 600, 100, 30
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n_sets, 0.05)
    hits = naive_hits = 0
    for i in range(n_sets):
        rng = np.random.default_rng(1000 + i)
        atoms = smooth_atoms(rng, n_time, 1)
        bold = ar1_noise(rng, n_time, n_vox, 0.5)
        ds = fit_encoding(
            atoms, bold, tr=TR, n_perm=1000, cv=None, seed=i, drift_model=None, progress=False
        )
        hits += bool((ds.pvalue_fwe.values <= 0.05).any())
        naive_hits += bool((ds.pvalue_param.values <= 0.05 / n_vox).any())
    assert lo <= hits <= hi, (hits, lo, hi)
    assert naive_hits > hi, naive_hits


def test_ar1_prewhitened_permutations(rng):
    """AR(1) model with permutations: one null per AR(1) group, pooled max statistic."""
    n_time, n_atoms, n_vox = 120, 2, 600
    atoms = smooth_atoms(rng, n_time, n_atoms)
    bold = ar1_noise(rng, n_time, n_vox, 0.5)
    bold[:, :20] += atoms[:, :1] * 3.0
    ds = fit_encoding(
        atoms, bold, tr=TR, n_perm=119, cv=None, noise_model="ar1", ar1_bins=10, progress=False
    )
    assert np.unique(ds.ar1_rho.values).size > 2
    null_p = ds.pvalue_perm.values[:, 20:]
    assert 0.02 <= (null_p <= 0.05).mean() <= 0.09
    assert (ds.pvalue_fwe.values[0, :20] <= 0.05).all()
    assert (ds.pvalue_fwe.values[:, 20:] <= 0.05).mean() < 0.01


def test_planted_effects_are_recovered(rng):
    n_time, n_atoms, n_vox = 300, 4, 1000
    atoms = smooth_atoms(rng, n_time, n_atoms)
    true = rng.standard_normal((n_atoms, n_vox)) * (rng.uniform(size=n_vox) < 0.3)
    bold = atoms @ true * 0.3 + ar1_noise(rng, n_time, n_vox, 0.4)  # SNR ~ 0.3 per atom
    ds = fit_encoding(atoms, bold, tr=TR, n_perm=300, cv=None, progress=False)
    r = np.corrcoef(ds.beta.values.ravel(), true.ravel())[0, 1]
    assert r >= 0.9, r
    big = np.abs(true) > 1.5
    assert (ds.pvalue_fwe.values[big] <= 0.05).mean() > 0.8
    null = true == 0
    assert (ds.pvalue_fwe.values[null] <= 0.05).mean() < 0.01
    assert (ds.qvalue.values[null] <= 0.05).mean() < 0.05


def test_cross_validated_prediction(rng):
    n_time, n_atoms, n_vox = 200, 3, 60
    atoms = smooth_atoms(rng, n_time, n_atoms)
    signal = atoms @ rng.standard_normal((n_atoms, n_vox))
    noise = rng.standard_normal((n_time, n_vox))
    bold = np.hstack([signal + noise, noise * 2])
    ds = fit_encoding(atoms, bold, tr=TR, n_perm=0, cv=4, progress=False)
    r_sig, r_null = ds.r_cv.values[:n_vox], ds.r_cv.values[n_vox:]
    assert np.median(r_sig) > 0.6
    assert abs(np.median(r_null)) < 0.15
    assert np.all(ds.r2_cv.values[:n_vox] <= ds.r2.values[:n_vox] + 0.05)
    assert np.median(ds.r2_cv.values[n_vox:]) < 0.01  # out of sample: no inflation


def test_blocked_splits_keep_a_gap():
    from analysis_lib.encoding.ridge_cv import blocked_splits

    splits = blocked_splits(np.arange(100), 5, gap=6)
    tested = np.concatenate([te for _, te in splits])
    np.testing.assert_array_equal(np.sort(tested), np.arange(100))
    for train, test in splits:
        dist = np.abs(train[:, None] - test[None, :]).min()
        assert dist > 6


# --------------------------------------------------------------------------- contracts


def test_dataarrays_coords_attrs_and_determinism(rng):
    n_time, n_vox = 80, 12
    time = 20.0 + TR * np.arange(n_time)
    atoms = xr.DataArray(
        smooth_atoms(rng, n_time, 2),
        dims=("time", "atom"),
        coords={"time": time, "atom": [3, 7]},
    )
    bold = xr.DataArray(
        rng.standard_normal((n_time, n_vox)).astype(np.float32),
        dims=("time", "voxel"),
        coords={
            "time": time,
            "grayordinate": ("voxel", np.arange(n_vox) * 7),
            "structure": ("voxel", ["CORTEX_LEFT"] * n_vox),
        },
        attrs={"space": "fsLR32k", "tr": TR, "subject": "s01", "dataset": "toy"},
    )
    a = fit_encoding(atoms, bold, n_perm=50, cv=None, seed=5, progress=False)
    b = fit_encoding(atoms, bold, n_perm=50, cv=None, seed=5, progress=False)
    xr.testing.assert_identical(a, b)
    np.testing.assert_array_equal(a.grayordinate.values, bold.grayordinate.values)
    assert list(a.atom.values) == [3, 7]
    assert a.attrs["space"] == "fsLR32k" and a.attrs["subject"] == "s01"
    assert a.beta.attrs["units"] and a.tstat.attrs["long_name"]
    assert "params" in a.attrs and "input_bold_sha256" in a.attrs
    for var in ("beta", "tstat", "pvalue_param", "pvalue_perm"):
        assert a[var].dims == ("atom", "voxel")
    c = fit_encoding(atoms, bold, n_perm=50, cv=None, seed=6, progress=False)
    assert not np.array_equal(a.pvalue_perm.values, c.pvalue_perm.values)
    p = fit_encoding(atoms, bold, n_perm=50, cv=None, null="phase", progress=False)
    assert np.isfinite(p.pvalue_perm.values).all()


def test_confounds_from_file_and_frame(rng, tmp_path):
    n_time = 60
    atoms = smooth_atoms(rng, n_time, 2)
    bold = rng.standard_normal((n_time, 5))
    motion = rng.standard_normal((n_time + 4, 6))
    path = tmp_path / "rp_sub.txt"
    np.savetxt(path, motion[4:])
    a = fit_encoding(atoms, bold, str(path), tr=TR, n_perm=0, cv=None, progress=False)
    b = fit_encoding(
        atoms, bold, pd.DataFrame(motion[4:]), tr=TR, n_perm=0, cv=None, progress=False
    )
    np.testing.assert_allclose(a.beta.values, b.beta.values, atol=1e-8)
    extra = rng.standard_normal((n_time, 1))
    c = fit_encoding(atoms, bold, [str(path), extra], tr=TR, n_perm=0, cv=None, progress=False)
    d = fit_encoding(
        atoms, bold, np.hstack([motion[4:], extra]), tr=TR, n_perm=0, cv=None, progress=False
    )
    np.testing.assert_allclose(c.beta.values, d.beta.values, atol=1e-8)
    assert c.attrs["dof"] == a.attrs["dof"] - 1
    np.savetxt(path, motion)
    with pytest.raises(ValueError, match=r"rp_sub.txt.*64 rows.*60"):
        fit_encoding(atoms, bold, str(path), tr=TR, n_perm=0, cv=None, progress=False)


# --------------------------------------------------------------------------- bad input


def test_length_mismatch_names_both_lengths_and_tr(rng):
    with pytest.raises(ValueError, match=r"atoms have 50 time points but BOLD has 60.*TR = 2 s"):
        fit_encoding(
            rng.standard_normal((50, 2)), rng.standard_normal((60, 3)), tr=2.0, n_perm=0, cv=None
        )


def test_time_axis_mismatch(rng):
    atoms = xr.DataArray(
        rng.standard_normal((40, 2)), dims=("time", "atom"), coords={"time": 2.0 * np.arange(40)}
    )
    bold = xr.DataArray(
        rng.standard_normal((40, 3)),
        dims=("time", "voxel"),
        coords={"time": 20 + 2.0 * np.arange(40)},
    )
    with pytest.raises(ValueError, match=r"atoms time axis \(0 s.*BOLD time axis \(20 s"):
        fit_encoding(atoms, bold, n_perm=0, cv=None)


def test_too_few_time_points(rng):
    with pytest.raises(ValueError, match=r"fewer time points \(6\) than regressors \(7"):
        fit_encoding(
            rng.standard_normal((6, 6)),
            rng.standard_normal((6, 3)),
            drift_model=None,
            n_perm=0,
            cv=None,
        )


def test_nan_and_constant_voxels_are_excluded_and_do_not_spread(rng):
    n_time = 90
    atoms = smooth_atoms(rng, n_time, 2)
    bold = rng.standard_normal((n_time, 20))
    clean = fit_encoding(atoms, bold[:, 4:], tr=TR, n_perm=99, cv=3, progress=False)
    bold[5, 0] = np.nan
    bold[:, 1] = 3.0
    bold[:, 2] = np.inf
    bold[:, 3] = 7.0 + 2.0 * drift_regressors(TR * np.arange(n_time)).to_numpy()[:, 0]
    ds = fit_encoding(atoms, bold, tr=TR, n_perm=99, cv=3, progress=False)
    assert ds.attrs["n_voxels_nan"] == 2 and ds.attrs["n_voxels_constant"] == 2
    assert ds.attrs["n_voxels_fitted"] == 16
    assert not ds.valid.values[:4].any() and ds.valid.values[4:].all()
    for var in ("beta", "tstat", "pvalue_perm", "pvalue_fwe", "qvalue", "r2", "r_cv"):
        vals = ds[var].values
        assert np.isnan(vals[..., :4]).all()
        assert np.isfinite(vals[..., 4:]).all()
        np.testing.assert_allclose(vals[..., 4:], clean[var].values, atol=1e-10)


def test_rank_deficient_and_bad_options(rng):
    a = smooth_atoms(rng, 50, 2)
    a = np.column_stack([a, a[:, 0] + a[:, 1]])
    with pytest.raises(ValueError, match="rank-deficient"):
        fit_encoding(a, rng.standard_normal((50, 3)), tr=TR, n_perm=0, cv=None)
    with pytest.raises(ValueError, match="noise_model"):
        fit_encoding(a[:, :2], rng.standard_normal((50, 3)), tr=TR, noise_model="ar2")
    with pytest.raises(ValueError, match="constant"):
        fit_encoding(np.ones((50, 1)), rng.standard_normal((50, 3)), tr=TR)
    with pytest.raises(ValueError, match="needs the TR"):
        fit_encoding(a[:, :2], rng.standard_normal((50, 3)), n_perm=0, cv=None)
