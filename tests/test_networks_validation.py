"""End-to-end validation scoring on the (small) simulated phantoms, with oracle atoms."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from analysis_lib import validation


def test_planted_coefficients_and_recovery_known_answer(rng):
    t = 200
    d = rng.standard_normal((t, 3))
    s = np.column_stack([d[:, 0], -0.5 * d[:, 1], np.zeros(t)])
    truth = xr.Dataset(
        {"network_timecourse": (("time", "network"), s)},
        coords={"network": ["A", "B", "C"]},
    )
    atoms = xr.DataArray(d, dims=("time", "atom"), coords={"atom": [0, 1, 2]})
    b = validation.planted_coefficients(atoms, truth, drift_model=None)
    z = (d - d.mean(0)) / d.std(0)
    expected = np.linalg.lstsq(np.c_[np.ones(t), z], s, rcond=None)[0][1:]
    np.testing.assert_allclose(b.values, expected, atol=1e-12)
    assert abs(float(b.sel(atom=0, network="A"))) > 0.9
    corr = xr.Dataset({"assignment": ("atom", ["A", "C", "B"])}, coords={"atom": [0, 1, 2]})
    score = validation.recovery_score(corr, b, b_min=0.3)
    # atom 0 planted in A and assigned A; atom 1 planted in B but assigned C; atom 2 unplanted
    assert score["n_planted"] == 2 and score["n_recovered"] == 1
    assert score["recovery"] == pytest.approx(0.5)
    assert score["n_dominant"] == 1 and score["atoms"][0]["dominant"] == ["A"]
    with pytest.raises(ValueError, match="time points"):
        validation.planted_coefficients(atoms.isel(time=slice(0, 10)), truth)
    # the encoding model's drift needs the clock
    with pytest.raises(ValueError, match="drift_model"):
        validation.planted_coefficients(atoms, truth)


def test_planted_coefficients_are_the_glm_betas(rng):
    """With the GLM's drift regressors, B is the noise-free beta that fit_encoding finds.

    Atom 0 carries a slow (drift-band) component that the planted course shares; the
    cosine high-pass of the GLM removes it, so the intercept-only regression is wrong.
    """
    from analysis_lib.encoding import fit_encoding

    t, tr = 300, 1.5
    time = tr * np.arange(t)
    slow = np.cos(np.pi * (np.arange(t) + 0.5) / t)  # period 900 s, in the drift band
    d = rng.standard_normal((t, 3))
    d[:, 0] += 3 * slow
    d[:, 1] += 0.5 * d[:, 0]  # correlated atoms
    s = np.column_stack([0.4 * d[:, 0] - 0.3 * d[:, 1] + 2 * slow, d[:, 2], np.zeros(t)])
    s = s / np.where(s.std(0) > 0, s.std(0), 1)
    truth = xr.Dataset(
        {"network_timecourse": (("time", "network"), s)},
        coords={"time": time, "network": ["A", "B", "C"]},
    )
    atoms = xr.DataArray(d, dims=("time", "atom"), coords={"time": time, "atom": [0, 1, 2]})
    b = validation.planted_coefficients(atoms, truth)
    b_old = validation.planted_coefficients(atoms, truth, drift_model=None)
    # noise-free voxels: 2 in A, 1 in B, with different loadings
    loading = np.array([1.0, 2.5, 0.7])
    y = xr.DataArray(
        100 + s[:, [0, 0, 1]] * loading, dims=("time", "voxel"), coords={"time": time}
    )
    z = atoms.copy(data=(d - d.mean(0)) / d.std(0))
    fit = fit_encoding(z, y, n_perm=0, cv=None, progress=False)
    beta = fit["beta"].transpose("atom", "voxel").values / loading
    np.testing.assert_allclose(beta, b.values[:, [0, 0, 1]], atol=1e-8)
    assert np.abs(b_old.values[:, 0] - b.values[:, 0]).max() > 0.1
    assert b.attrs["drift_model"] == "cosine" and b.attrs["high_pass"] == 0.01


def test_validate_oracle_small_phantom():
    """Encoding -> group -> correspondence recovers the planted networks; null stays quiet."""

    # every 48th cortical grayordinate (1,238), 8 subjects; 500 spins so that BH over the
    # 4 x 12 (atom, network) pairs can reach 0.05
    res = validation.run_validation(
        atoms="oracle", n_perm=500, n_perm_group=64, n_subjects=8, stride=48
    )
    assert res["n_planted_atoms"] == 4
    assert res["recovery"] >= 0.75
    assert res["null_significant_fraction"] <= res["null_tolerance"]
    # the combined p is never below the spatial one, so neither is the rejection rate
    assert res["null_significant_fraction"] <= res["null_significant_fraction_spatial_only"]
    assert res["null_assigned_fraction"] == 0.0
    assert res["recovery_dominant"] <= res["recovery"]
    assert res["params"]["drift_model"] == validation.DRIFT_MODEL
    with pytest.raises(ValueError, match="atoms must be"):
        validation.run_validation(atoms="nope")


def test_planted_coefficients_match_phantom_signal_betas(rng):
    """On the phantom itself: the GLM betas of the planted signal (story minus null) are
    ``B`` (with the GLM's drift) voxel by voxel, up to each voxel's loading."""
    from analysis_lib import datasets
    from analysis_lib.encoding import fit_encoding

    opts = {"stride": 48, "n_subjects": 2}
    truth = datasets.ground_truth("phantom-story", **opts)
    f = truth["features"].transpose("time", "feature").values
    t = f.shape[0]
    # atoms that carry the features partly, mixed, with slow components of their own
    slow = np.cos(np.pi * np.outer(np.arange(t) + 0.5, [1, 2, 3]) / t)
    d = f @ rng.normal(size=(4, 5)) + slow @ rng.normal(size=(3, 5)) * 2
    d += 0.5 * rng.standard_normal((t, 5))
    time = truth["time"].values
    atoms = xr.DataArray(d, dims=("time", "atom"), coords={"time": time, "atom": range(5)})
    z = atoms.copy(data=(d - d.mean(0)) / d.std(0))
    story = datasets.load("phantom-story", "sub-01", **opts)
    null = datasets.load("phantom-null", "sub-01", **opts)
    signal = story.copy(data=story.values.astype(float) - null.values.astype(float))
    beta = fit_encoding(z, signal, n_perm=0, cv=None, progress=False)["beta"]
    beta = beta.transpose("atom", "voxel").values
    labels = truth["subject_map"].isel(subject=0).values > 0  # (network, voxel)

    def unexplained(b):
        share = []
        for n in np.flatnonzero(truth["driven"].values):
            bv = beta[:, labels[n]]
            bv = bv[:, np.isfinite(bv).all(0)]
            ref = b.values[:, n]
            resid = bv - np.outer(ref, ref @ bv / (ref @ ref))
            share.append((resid**2).sum() / (bv**2).sum())
        return np.array(share)

    with_drift = validation.planted_coefficients(atoms, truth)
    intercept_only = validation.planted_coefficients(atoms, truth, drift_model=None)
    assert unexplained(with_drift).max() < 1e-6
    assert unexplained(intercept_only).max() > 0.01


def test_validate_phantom_seed_reaches_the_phantom(monkeypatch):
    from analysis_lib import datasets

    seen = []
    load = datasets.load

    def spy(name, subject, **options):
        seen.append(options.get("seed"))
        return load(name, subject, **options)

    monkeypatch.setattr(datasets, "load", spy)
    kw = dict(atoms="oracle", n_perm=20, n_perm_group=8, n_subjects=3, stride=96)
    res = validation.run_validation(phantom_seed=1, **kw)
    assert res["params"]["seed"] == 0 and res["params"]["phantom_seed"] == 1
    assert seen and set(seen) == {1}
