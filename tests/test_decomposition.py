"""Tests of analysis_lib.decomposition (SparseDictionary, its solver) and the decompose CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from sklearn.exceptions import ConvergenceWarning

from analysis_lib.decomposition import (
    SparseDictionary,
    normalize_columns,
    objective_value,
    order_and_sign,
    spams_codes,
)


def planted(n_time=80, n_neuron=1500, k=6, noise=0.05, seed=1):
    """X = D A + noise with unit-norm random atoms and 1-2 active atoms per neuron."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_time, k))
    D /= np.linalg.norm(D, axis=0)
    A = np.zeros((k, n_neuron))
    for n in range(n_neuron):
        idx = rng.choice(k, size=rng.integers(1, 3), replace=False)
        A[idx, n] = rng.choice([-1.0, 1.0], size=idx.size) * rng.uniform(0.5, 2.0, idx.size)
    X = D @ A + noise * rng.standard_normal((n_time, n_neuron))
    return X, D, A


def fit(X, **kw):
    kw.setdefault("verbose", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SparseDictionary(**kw).fit(X)


@pytest.fixture(scope="module")
def planted_fit():
    X, D, A = planted()
    model = fit(X, n_atoms=6, alpha=0.05, tol=1e-6, max_iter=300)
    return X, D, A, model


# ------------------------------------------------------------------------- correctness
def test_planted_atoms_recovered(planted_fit):
    _, D, _, model = planted_fit
    r = np.corrcoef(model.atoms_.T, D.T)[:6, 6:]
    best = np.abs(r).max(axis=0)
    assert best.min() >= 0.95, best
    # each true atom matched by a different learned atom
    assert len(set(np.abs(r).argmax(axis=0))) == 6


def test_null_data_no_structure():
    """On pure noise the reconstruction is poor: R^2 small (no fake structure)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 800))
    model = fit(X, n_atoms=4, alpha=0.1, max_iter=50)
    assert np.nanmean(model.r2_) < 0.2


def test_objective_matches_spams_at_convergence():
    """Same data, alpha and initial atoms: final objective within 0.5 % of SPAMS trainDL."""
    pytest.importorskip("spams")
    X, _, _ = planted(n_time=40, n_neuron=600, k=5, noise=0.3, seed=2)
    alpha = 0.1
    ours = fit(X, n_atoms=8, alpha=alpha, tol=1e-7, max_iter=2000, dtype="float64")
    ref = fit(X, n_atoms=8, alpha=alpha, solver="spams", max_iter=300, batch_size=100)
    Xn, _ = normalize_columns(X, "unit", np.float64)
    obj_ours = spams_codes(Xn, ours.atoms_, alpha)[2]
    obj_ref = spams_codes(Xn, ref.atoms_, alpha)[2]
    assert abs(obj_ours - obj_ref) / obj_ref <= 0.005, (obj_ours, obj_ref)
    # our own final objective agrees with exact LARS codes on our atoms
    assert ours.objective_[-1] == pytest.approx(obj_ours, rel=1e-4)
    # and with a direct evaluation of atoms_ and loadings_
    assert objective_value(Xn, ours.atoms_, ours.loadings_, alpha) == pytest.approx(
        ours.objective_[-1], rel=1e-6
    )


def test_objective_trace_nonincreasing(planted_fit):
    trace = planted_fit[3].objective_[:-1]
    assert np.all(np.diff(trace) <= 1e-9 * np.abs(trace[1:]))
    assert planted_fit[3].objective_.size == planted_fit[3].n_iter_ + 1


def stand_in(n_time=60, n_neuron=3000, n_factor=12, seed=0):
    """Smooth shared time courses, sparse heavy-tailed mixing and noise (no exact atoms)."""
    rng = np.random.default_rng(seed)
    F = np.cumsum(rng.standard_normal((n_time, n_factor)), axis=0)
    W = rng.standard_t(3, size=(n_factor, n_neuron)) * (rng.random((n_factor, n_neuron)) < 0.3)
    return F @ W + 2.0 * rng.standard_normal((n_time, n_neuron))


def test_envelope_gradient_matches_finite_differences(monkeypatch):
    """Gradient of f(D) = min_A F(D, A) (Danskin) against central differences of f."""
    import torch

    import analysis_lib.decomposition as dec
    from analysis_lib.decomposition import solver

    monkeypatch.setattr(solver, "_REFINE_CODE_TOL", 1e-12)
    monkeypatch.setattr(solver, "_REFINE_CODE_ITER", 20000)
    rng = np.random.default_rng(0)
    X, _ = normalize_columns(stand_in(n_time=30, n_neuron=400), "unit", np.float64)
    Xt = torch.from_numpy(X)
    xx = (Xt**2).sum(0)
    D = X[:, rng.choice(400, 5, replace=False)]
    D = D / np.linalg.norm(D, axis=0)

    def f(Dv):
        A = torch.zeros((5, 400), dtype=torch.float64)
        return dec.envelope_objective(Xt, xx, Dv, A, 0.1, chunk=128)

    obj, grad = f(D)
    A_ref = dec.reference_codes(X, D, 0.1)[0]
    assert obj == pytest.approx(objective_value(X, D, A_ref, 0.1), rel=1e-9)
    for _ in range(3):
        E = rng.standard_normal(D.shape)
        h = 1e-5
        fd = (f(D + h * E)[0] - f(D - h * E)[0]) / (2 * h)
        assert fd == pytest.approx(float(np.sum(grad * E)), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("seed", [0, 1])
def test_lbfgs_refinement_beats_alternating_minimization(seed):
    """Where block coordinate descent stalls, the L-BFGS refinement goes lower in fewer passes."""
    X = stand_in(seed=seed)
    kw = dict(n_atoms=12, alpha=0.1, tol=1e-6, max_iter=300, seed=seed, dtype="float64")
    hybrid = fit(X, refine="lbfgs", **kw)
    plain = fit(X, refine="none", **kw)
    assert hybrid.n_refine_ > 0 and plain.n_refine_ == 0
    assert hybrid.n_iter_ < plain.n_iter_
    assert hybrid.objective_[-1] < plain.objective_[-1] * (1 - 1e-3)
    trace = hybrid.objective_[:-1]
    assert np.all(np.diff(trace) <= 1e-9 * np.abs(trace[1:]))
    assert hybrid.objective_.size == hybrid.n_iter_ + 1


def test_pass_budget_includes_refinement():
    X = stand_in(seed=2)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = SparseDictionary(
            n_atoms=12, tol=0.0, max_iter=40, verbose=False, dtype="float64"
        ).fit(X)
    assert model.n_iter_ == 40 and model.n_refine_ > 0
    assert model.objective_.size == 41


def test_order_and_sign_conventions(planted_fit):
    model = planted_fit[3]
    energy = np.sum(model.atoms_**2, 0) * np.sum(model.loadings_.astype(float) ** 2, 1)
    assert np.all(np.diff(energy) <= 1e-6 * energy[0])
    np.testing.assert_allclose(energy, model.explained_energy_, rtol=1e-4)
    assert np.all(model.loadings_.sum(axis=1) > 0)
    assert np.all(np.linalg.norm(model.atoms_, axis=0) <= 1 + 1e-5)


def test_order_and_sign_function():
    D = np.eye(3)
    A = np.array([[1.0, 0.0], [-3.0, -1.0], [0.0, 2.0]])
    D2, A2, energy = order_and_sign(D, A)
    np.testing.assert_array_equal(energy, [10.0, 4.0, 1.0])
    np.testing.assert_array_equal(A2[0], [3.0, 1.0])
    np.testing.assert_array_equal(D2 @ A2, D @ A)


def test_deterministic_same_seed():
    X, _, _ = planted(n_neuron=900, seed=4)
    a = fit(X, n_atoms=6, alpha=0.05, max_iter=20, batch_size=300)
    b = fit(X, n_atoms=6, alpha=0.05, max_iter=20, batch_size=300)
    np.testing.assert_array_equal(a.atoms_, b.atoms_)
    np.testing.assert_array_equal(a.loadings_, b.loadings_)
    c = fit(X, n_atoms=6, alpha=0.05, max_iter=20, batch_size=300, seed=1)
    assert not np.array_equal(a.atoms_, c.atoms_)


def test_transform_codes_new_neurons(planted_fit):
    X, D, A, model = planted_fit
    # on the training neurons, transform reproduces the fitted loadings
    np.testing.assert_allclose(model.transform(X), model.loadings_, atol=1e-3)
    # new neurons built from the true atoms are well reconstructed
    rng = np.random.default_rng(9)
    a_new = A[:, rng.permutation(A.shape[1])[:200]]
    X_new = D @ a_new
    codes = model.transform(X_new)
    Xn, _ = normalize_columns(X_new, "unit", np.float64)
    resid = Xn - model.atoms_ @ codes
    r2 = 1 - (resid**2).sum(0) / ((Xn - Xn.mean(0)) ** 2).sum(0)
    assert np.median(r2) > 0.9
    with pytest.raises(ValueError, match="time points"):
        model.transform(X_new[:-1])


def test_warm_start_continues(planted_fit):
    X, _, _, model = planted_fit
    warm = SparseDictionary(**model.get_params())
    warm.set_params(warm_start=True, max_iter=2)
    warm.atoms_ = model.atoms_.copy()
    fit_obj = model.objective_[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X)
    assert warm.objective_[-1] <= fit_obj * (1 + 1e-4)


def test_dataarray_input_and_zscore():
    X, _, _ = planted(n_neuron=500, seed=5)
    da = xr.DataArray(X.T, dims=("neuron", "time"))
    m1 = fit(da, n_atoms=4, normalize="zscore", max_iter=10)
    m2 = fit(X, n_atoms=4, normalize="zscore", max_iter=10)
    np.testing.assert_array_equal(m1.atoms_, m2.atoms_)
    Xn, _ = normalize_columns(X, "zscore", np.float64)
    np.testing.assert_allclose(Xn.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Xn.std(0), 1)


def test_sklearn_solver_reaches_comparable_objective():
    X, _, _ = planted(n_time=40, n_neuron=600, k=5, noise=0.3, seed=2)
    ours = fit(X, n_atoms=5, alpha=0.1, tol=1e-6, max_iter=500)
    skl = fit(X, n_atoms=5, alpha=0.1, solver="sklearn", max_iter=30, batch_size=100)
    assert skl.solver_ == "sklearn" and ours.solver_ == "torch"
    assert skl.objective_[-1] <= 1.05 * ours.objective_[-1]
    assert ours.objective_[-1] <= 1.05 * skl.objective_[-1]


# ------------------------------------------------------------------------- bad input
def test_nan_and_inf_reported():
    X, _, _ = planted(n_neuron=200)
    X[3, 10] = np.nan
    X[5, 10] = np.nan
    X[7, 42] = np.inf
    with pytest.raises(ValueError, match=r"2 NaN and 1 infinite values in 2 neuron\(s\)") as e:
        SparseDictionary(n_atoms=4, verbose=False).fit(X)
    assert "[10, 42]" in str(e.value) and "(3, 10)" in str(e.value)


def test_constant_neurons_excluded():
    X, _, _ = planted(n_neuron=300)
    X[:, [0, 7]] = 2.5
    X[:, 9] = 0.0
    with pytest.warns(UserWarning, match="3 constant neuron"):
        model = SparseDictionary(n_atoms=4, max_iter=5, verbose=False).fit(X)
    assert model.n_constant_ == 3
    assert np.all(model.loadings_[:, [0, 7, 9]] == 0)
    assert np.isnan(model.r2_[[0, 7, 9]]).all()
    assert np.isfinite(model.r2_[1:7]).all()


@pytest.mark.parametrize(
    ("shape", "k", "match"),
    [((10, 300), 11, "time points"), ((50, 8), 9, "non-constant neurons")],
)
def test_too_many_atoms(shape, k, match):
    X = np.random.default_rng(0).standard_normal(shape)
    with pytest.raises(ValueError, match=match):
        SparseDictionary(n_atoms=k, verbose=False).fit(X)


def test_bad_params():
    X = np.random.default_rng(0).standard_normal((20, 50))
    with pytest.raises(ValueError, match="normalize"):
        SparseDictionary(n_atoms=2, normalize="l2").fit(X)
    with pytest.raises(ValueError, match="solver must be one of"):
        SparseDictionary(n_atoms=2, solver="magic").fit(X)
    with pytest.raises(ValueError, match="refine"):
        SparseDictionary(n_atoms=2, refine="newton").fit(X)
    with pytest.raises(ValueError, match="Reshape your data"):
        SparseDictionary(n_atoms=2).fit(X[0])


def test_backend_is_a_deprecated_alias_of_solver():
    """``backend=`` still works, with a FutureWarning, and gives the same fit as ``solver=``."""
    X, _, _ = planted(n_time=30, n_neuron=200, k=3, seed=4)
    new = fit(X, n_atoms=3, alpha=0.1, solver="sklearn", max_iter=3, batch_size=50)
    with pytest.warns(FutureWarning, match="'backend' was renamed 'solver'"):
        old = SparseDictionary(
            n_atoms=3, alpha=0.1, backend="sklearn", max_iter=3, batch_size=50, verbose=False
        ).fit(X)
    assert old.solver_ == "sklearn"
    np.testing.assert_array_equal(old.atoms_, new.atoms_)
    with pytest.warns(FutureWarning, match="backend_ was renamed solver_"):
        assert old.backend_ == "sklearn"
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="disagree"):
        SparseDictionary(n_atoms=2, solver="torch", backend="spams").fit(X)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="solver must be one"):
        SparseDictionary(n_atoms=2, backend="magic").fit(X)
    # the default emits nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        fit(X, n_atoms=3, max_iter=2)


def test_fit_sets_only_fitted_attributes():
    """fit adds public attributes ending in '_' only: no transient state left behind."""
    X, _, _ = planted(n_time=30, n_neuron=200, k=3, seed=4)
    model = SparseDictionary(n_atoms=3, max_iter=3, verbose=False)
    before = set(vars(model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_attrs = set(vars(model.fit(X))) - before
    assert fit_attrs and all(a.endswith("_") and not a.startswith("_") for a in fit_attrs)
    assert set(vars(model)) - fit_attrs == before


def test_solver_functions_match_the_estimator():
    """The pure solver, called directly, returns the arrays the estimator stores."""
    from analysis_lib.decomposition import (
        fit_torch,
        initial_atoms,
        neuron_blocks,
        order_and_sign,
    )

    X, _, _ = planted(n_time=30, n_neuron=300, k=3, seed=5)
    model = fit(X, n_atoms=4, alpha=0.1, max_iter=40, n_threads=1)
    Xn, _ = normalize_columns(X, "unit", np.float32)
    res = fit_torch(
        Xn,
        initial_atoms(Xn, 4, seed=0),
        alpha=0.1,
        blocks=neuron_blocks(300),
        max_iter=40,
        tol=1e-4,
        n_threads=1,
    )
    D, A, _ = order_and_sign(res.atoms, res.loadings)
    np.testing.assert_array_equal(D, model.atoms_)
    np.testing.assert_array_equal(A, model.loadings_)
    np.testing.assert_array_equal(res.objective, model.objective_)
    assert res.n_iter == model.n_iter_ and res.n_refine == model.n_refine_


# ------------------------------------------------------------------------- sklearn checks
# Checks skipped, and why. The estimator's data layout is (n_time, n_neuron): rows are time
# points, and transform returns loadings of shape (n_atoms, n_neuron), i.e. one output row
# per atom, not per input row. Checks that assume transform/fit_transform return one row
# per input sample, or that rows are exchangeable samples, do not apply.
SKIPPED_CHECKS = {
    "check_transformer_general": "transform returns (n_atoms, n_neuron), not one row per row",
    "check_transformer_data_not_an_array": "transform output rows are atoms, not input rows",
    "check_transformer_preserve_dtypes": "output dtype is the dtype parameter (float32)",
    "check_fit_idempotent": "transform output rows are atoms, not input rows",
    "check_methods_sample_order_invariance": "rows are time points, not exchangeable samples",
    "check_methods_subset_invariance": "rows are time points, not exchangeable samples",
    "check_fit2d_1sample": "one time point cannot hold n_atoms atoms (documented error)",
    "check_fit2d_1feature": "one neuron cannot hold n_atoms atoms (documented error)",
    "check_n_features_in_after_fitting": "transform accepts any number of neurons (columns)",
}


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    est = SparseDictionary(n_atoms=2, max_iter=5, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, expected_failed_checks=SKIPPED_CHECKS, on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    assert not failed, [(r["check_name"], str(r["exception"])[:200]) for r in failed]
    passed = [r["check_name"] for r in results if r["status"] == "passed"]
    assert len(passed) >= 10, passed


# ------------------------------------------------------------------------- CLI
def _responses(X):
    n_time, n_neuron = X.shape
    return xr.DataArray(
        X.astype(np.float32),
        dims=("time", "neuron"),
        coords={
            "time": 20.0 + 2.0 * np.arange(n_time),
            "layer": ("neuron", np.repeat(np.arange(3), n_neuron // 3 + 1)[:n_neuron]),
            "unit": ("neuron", np.arange(n_neuron)),
            "site": ("neuron", np.array(["ffn_hidden"] * n_neuron)),
            "branch": ("neuron", np.array(["text"] * n_neuron)),
        },
        name="responses",
        attrs={"units": "1", "long_name": "AN response"},
    )


def test_cli_round_trip(tmp_path, capsys):
    from analysis_lib.cli import main
    from analysis_lib.io import read_netcdf, write_netcdf

    X, _, _ = planted(n_time=50, n_neuron=600, k=4, seed=6)
    X[:, 5] = 1.0
    src = write_netcdf(_responses(X), tmp_path / "responses.nc")
    out = tmp_path / "dl.nc"
    rc = main(
        [
            "decompose",
            "--responses",
            str(src),
            "--n-atoms",
            "4",
            "--alpha",
            "0.05",
            "--seed",
            "0",
            "--max-iter",
            "30",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert "1 constant neuron" in capsys.readouterr().out
    ds = read_netcdf(out)
    assert ds["atoms"].dims == ("time", "atom") and ds.sizes["atom"] == 4
    assert ds["loadings"].dims == ("atom", "neuron") and ds.sizes["neuron"] == 600
    for coord in ("layer", "unit", "site", "branch"):
        np.testing.assert_array_equal(ds[coord].values, _responses(X)[coord].values)
    np.testing.assert_array_equal(ds["time"].values, 20.0 + 2.0 * np.arange(50))
    np.testing.assert_array_equal(
        ds["subgroup_size"].values, np.count_nonzero(ds["loadings"].values, axis=1)
    )
    assert ds["r2"].dims == ("neuron",) and np.isnan(ds["r2"].values[5])
    assert ds["objective"].dims == ("iteration",)
    assert '"n_atoms": 4' in ds.attrs["params"] and "input_responses_sha256" in ds.attrs
    assert '"refine": "lbfgs"' in ds.attrs["params"] and '"solver": "auto"' in ds.attrs["params"]
    assert ds.attrs["solver"] == "torch"
    direct = fit(X.astype(np.float32), n_atoms=4, alpha=0.05, max_iter=30)
    np.testing.assert_array_equal(ds["atoms"].values, direct.atoms_)
    assert ds.attrs["n_iter"] == direct.n_iter_ and ds.attrs["n_refine"] == direct.n_refine_
    assert ds.sizes["iteration"] == direct.n_iter_ + 1


def test_cli_bad_input_names_file(tmp_path, capsys):
    from analysis_lib.cli import main
    from analysis_lib.io import write_netcdf

    X, _, _ = planted(n_time=30, n_neuron=100, k=3)
    X[2, 3] = np.nan
    src = write_netcdf(_responses(X), tmp_path / "bad.nc")
    out = tmp_path / "dl.nc"
    rc = main(["decompose", "--responses", str(src), "--n-atoms", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.nc" in err and "1 NaN" in err
    assert not out.exists()


def test_cli_solver_option_and_deprecated_backend_alias():
    import argparse

    from analysis_lib.cli import decompose

    parser = argparse.ArgumentParser()
    decompose.add_arguments(parser)
    base = ["--responses", "r.nc", "--out", "o.nc"]
    assert parser.parse_args(base).solver == "auto"
    assert parser.parse_args([*base, "--solver", "spams"]).solver == "spams"
    assert parser.parse_args([*base, "--backend", "sklearn"]).solver == "sklearn"
