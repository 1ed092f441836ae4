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
    b = validation.planted_coefficients(atoms, truth)
    z = (d - d.mean(0)) / d.std(0)
    expected = np.linalg.lstsq(np.c_[np.ones(t), z], s, rcond=None)[0][1:]
    np.testing.assert_allclose(b.values, expected)
    assert abs(float(b.sel(atom=0, network="A"))) > 0.9
    corr = xr.Dataset({"assignment": ("atom", ["A", "C", "B"])}, coords={"atom": [0, 1, 2]})
    score = validation.recovery_score(corr, b, b_min=0.3)
    # atom 0 planted in A and assigned A; atom 1 planted in B but assigned C; atom 2 unplanted
    assert score["n_planted"] == 2 and score["n_recovered"] == 1
    assert score["recovery"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="time points"):
        validation.planted_coefficients(atoms.isel(time=slice(0, 10)), truth)


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
    assert res["null_assigned_fraction"] == 0.0
    with pytest.raises(ValueError, match="atoms must be"):
        validation.run_validation(atoms="nope")
