"""Model atoms on parcellated real movie data: text events, parcel nulls, the film-atoms stage."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from analysis_lib.comparison.nested import held_out_r2
from analysis_lib.datasets import partly_cloudy as pc
from analysis_lib.extraction import extract
from analysis_lib.networks.parcels import (
    centroid_distances,
    parcel_correspondence,
    rank_threshold,
    surrogate_maps,
)


def _events(n_volumes: int = 60, tr: float = 0.8) -> pc.EventStimulus:
    frame = pd.DataFrame(
        {
            "onset": [4.0, 20.0, 36.0],
            "duration": [4.0, 6.0, 4.0],
            "trial_type": ["mental", "pain", "mental"],
            "description": ["Gus is sad", "Stork bitten", "Gus is happy"],
        }
    )
    return pc.EventStimulus(name="toy-film", events=frame, tr=tr, n_volumes=n_volumes)


# ------------------------------------------------------------------- text-only events


def test_event_texts_follow_the_scan_clock():
    stim = _events(tr=1.0)
    texts = stim.texts
    assert len(texts) == 60
    assert texts[0] == "" and texts[5] == "Gus is sad" and texts[25] == "Stork bitten"
    assert sum(bool(t) for t in texts) == 4 + 6 + 4  # volumes whose [t, t + tr) overlaps
    assert stim.sha256 != _events(n_volumes=61).sha256


def test_text_model_reads_event_descriptions():
    resp = extract("tiny-bert", _events(), progress=False)
    assert resp.dims == ("time", "neuron") and resp.shape == (60, 128)
    assert set(resp["branch"].values) == {"text"}
    # the same description gives the same activation before the HRF: two identical
    # events would give identical responses; here the three texts differ
    assert json.loads(resp.attrs["params"])["n_texts"] == 4  # three texts and ""


def test_two_tower_model_keeps_its_text_tower_only():
    resp = extract("tiny-clip", _events(), progress=False)
    assert set(resp["branch"].values) == {"text"}


@pytest.mark.parametrize("model", ["tiny-vit", "tiny-bridgetower"])
def test_models_that_need_frames_are_refused(model):
    with pytest.raises(ValueError, match="text only"):
        extract(model, _events(), progress=False)


# ------------------------------------------------------------------------ parcel nulls


def _parcels(n: int = 240, n_net: int = 4, seed: int = 0):
    """Centroids in a ball; each network is 6 patches spread over it (as real networks are)."""
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-70, 70, (4 * n, 3))
    xyz = xyz[np.linalg.norm(xyz, axis=1) < 70][:n]
    seeds = xyz[rng.choice(n, 6 * n_net, replace=False)]
    patch = np.argmin(centroid_distances(np.vstack([xyz, seeds]))[:n, n:], axis=1)
    labels = np.array([f"net{k % n_net}" for k in patch], dtype=object)
    return xyz, labels


def _smooth_noise(xyz, n_maps, rng, width=15.0):
    d = centroid_distances(xyz)
    kernel = np.exp(-(d**2) / (2 * width**2))
    return rng.standard_normal((n_maps, len(xyz))) @ kernel


def test_moran_surrogates_keep_autocorrelation():
    xyz, _ = _parcels()
    rng = np.random.default_rng(1)
    maps = _smooth_noise(xyz, 2, rng)
    d = centroid_distances(xyz)
    w = np.zeros_like(d)
    np.divide(1, d, out=w, where=d > 0)

    def moran(v):
        v = v - v.mean()
        return len(v) / w.sum() * (v @ w @ v) / (v @ v)

    surr = surrogate_maps(maps, d, null="moran", n_perm=50, seed=0)
    assert surr.shape == (2, 50, len(xyz))
    for i in range(2):
        assert np.allclose([moran(s) for s in surr[i]], moran(maps[i]), atol=1e-6)
        assert not np.allclose(surr[i, 0], maps[i])
        shuffled = [moran(rng.permutation(maps[i])) for _ in range(20)]
        assert moran(maps[i]) > np.max(shuffled)  # the maps are smooth, a shuffle is not
    again = surrogate_maps(maps, d, null="moran", n_perm=50, seed=0)
    np.testing.assert_array_equal(surr, again)


def test_variogram_surrogates_run_through_brainsmash():
    xyz, _ = _parcels(n=60)
    maps = _smooth_noise(xyz, 1, np.random.default_rng(2))
    surr = surrogate_maps(maps, centroid_distances(xyz), null="variogram", n_perm=4, seed=0)
    assert surr.shape == (1, 4, len(xyz)) and np.isfinite(surr).all()
    with pytest.raises(ValueError, match="null must be"):
        surrogate_maps(maps, centroid_distances(xyz), null="spin")


def test_rank_threshold_keeps_the_counts():
    rng = np.random.default_rng(3)
    surr = rng.standard_normal((3, 5, 40))
    n_pos, n_neg = np.array([4, 0, 7]), np.array([2, 5, 0])
    t = rank_threshold(surr, n_pos, n_neg)
    np.testing.assert_array_equal((t > 0).sum(-1), np.repeat(n_pos[:, None], 5, 1))
    np.testing.assert_array_equal((t < 0).sum(-1), np.repeat(n_neg[:, None], 5, 1))
    top = np.argmax(surr[0, 0])
    assert t[0, 0, top] == 1 and t[0, 0, np.argmin(surr[0, 0])] == -1


def _maps(values, pvalues):
    dims = ("atom", "voxel")
    return (
        xr.DataArray(values, dims=dims, coords={"atom": np.arange(values.shape[0])}),
        xr.DataArray(pvalues, dims=dims, coords={"atom": np.arange(values.shape[0])}),
    )


def test_planted_network_is_found_and_null_maps_are_not():
    xyz, labels = _parcels()
    rng = np.random.default_rng(4)
    n_null = 9
    noise = _smooth_noise(xyz, n_null + 1, rng)
    noise /= noise.std(1, keepdims=True)
    values = noise.copy()
    values[0] += 4.0 * (labels == "net2")  # atom 0 drives network 2 only
    # p values of a z statistic, the networks stage's rule: p < 0.01
    from scipy.stats import norm

    p = 2 * norm.sf(np.abs(values))
    # the planted atom alone (4 pairs), then the null atoms alone (BH over their pairs)
    stat, pv = _maps(values[:1], p[:1])
    ds = parcel_correspondence(stat, pv, labels, xyz, threshold=0.01, n_perm=1000, seed=0)
    assert str(ds["assignment"].sel(atom=0).values) == "net2"
    assert float(ds["p_spatial"].sel(atom=0, network="net2")) < 0.02
    assert float(ds["dice"].sel(atom=0, network="net2")) > 0.6
    assert int(ds["polarity"].sel(atom=0, network="net2")) == 1
    stat, pv = _maps(values[1:], p[1:])
    null = parcel_correspondence(stat, pv, labels, xyz, threshold=0.01, n_perm=1000, seed=0)
    assert (null["assignment"].values != "none").sum() <= 1, null["assignment"].values
    assert null.sizes["network"] == 4 and null.attrs["params"]


def test_parcels_without_a_network_are_left_out():
    xyz, labels = _parcels(n_net=2)
    labels = labels.copy()
    n0 = int((labels == "net0").sum())
    labels[np.flatnonzero(labels == "net0")[:5]] = ""
    values = np.ones((1, len(xyz)))
    stat, pv = _maps(values, np.full((1, len(xyz)), 0.001))
    ds = parcel_correspondence(stat, pv, labels, xyz, n_perm=0)
    assert json.loads(ds.attrs["params"])["n_parcels_tested"] == len(xyz) - 5
    assert int(ds["network_size"].sel(network="net0")) == n0 - 5
    with pytest.raises(ValueError, match="centroids"):
        parcel_correspondence(stat, pv, labels[:-1], xyz, n_perm=0)


def test_network_shift_rule_on_parcels():
    """The calibrated rule on parcel time series: an atom planted in one network's BOLD is
    found there and only there; atoms unrelated to the BOLD are not assigned; a shared
    (stimulus-driven) response that a random atom correlates with by chance in every
    subject does not make it significant."""
    from analysis_lib.hrf import convolve

    xyz, labels = _parcels()
    rng = np.random.default_rng(5)
    n_sub, n_time, n_atom = 8, 200, 4
    times = 0.8 * np.arange(n_time)

    def course():
        on = np.sort(rng.uniform(0, times[-1], 50))
        x = convolve(on, rng.standard_normal(on.size), times)
        return (x - x.mean()) / x.std()

    atoms = np.column_stack([course() for _ in range(n_atom)])
    shared = course()  # the same response in every subject, unrelated to the atoms
    bold = rng.standard_normal((n_sub, n_time, len(xyz)))
    bold += 0.8 * shared[None, :, None] * (labels == "net1")[None, None, :]
    bold += 0.5 * atoms[None, :, 0, None] * (labels == "net2")[None, None, :]
    # the group maps: one-sample t over subjects of each subject's correlations
    z = (bold - bold.mean(1, keepdims=True)) / bold.std(1, keepdims=True)
    r = np.einsum("ta,stv->sav", atoms, z) / n_time
    t = r.mean(0) / (r.std(0, ddof=1) / np.sqrt(n_sub))
    from scipy.stats import t as student

    p = 2 * student.sf(np.abs(t), n_sub - 1)
    stat, pv = _maps(t, p)
    ds = parcel_correspondence(
        stat,
        pv,
        labels,
        xyz,
        n_perm=0,
        rule="network-shift",
        min_r=0.1,
        atoms=atoms,
        bold=bold,
        n_shift=200,
        seed=0,
    )
    assert str(ds["assignment"].sel(atom=0).values) == "net2"
    assert bool(ds["significant"].sel(atom=0, network="net2"))
    assert int(ds["significant"].sum()) == 1, ds["significant"].values
    assert float(ds["network_b"].sel(atom=0, network="net2")) > 0.1
    assert json.loads(ds.attrs["params"])["rule"] == "network-shift"
    with pytest.raises(ValueError, match="needs atoms and bold"):
        parcel_correspondence(stat, pv, labels, xyz, n_perm=0, rule="network-shift")
    with pytest.raises(ValueError, match="bold must be"):
        parcel_correspondence(
            stat,
            pv,
            labels,
            xyz,
            n_perm=0,
            rule="network-shift",
            atoms=atoms,
            bold=bold[:, :-1],
        )
    with pytest.raises(ValueError, match="rule must be"):
        parcel_correspondence(stat, pv, labels, xyz, n_perm=0, rule="network")


# ----------------------------------------------------------------- sparse held-out R^2


def test_run_scaling_keeps_sparse_events_finite():
    """An event type present in one block only: train scaling explodes, run scaling not."""
    rng = np.random.default_rng(5)
    n = 200
    base = np.zeros((n, 2))
    base[10:30, 0] = 1.0  # only in the first fold's block
    base[:, 1] = np.sin(np.arange(n) / 7)
    y = base @ np.array([[0.5], [1.0]]) + rng.standard_normal((n, 1))
    feats = {"noise": rng.standard_normal((n, 3))}
    nuis = np.ones((n, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_train, _ = held_out_r2(y, base, feats, nuis, n_folds=5, gap=5, scaling="train")
        r_run, full = held_out_r2(y, base, feats, nuis, n_folds=5, gap=5, scaling="run")
    assert r_run[0] > 0.2 and abs(full["noise"][0] - r_run[0]) < 0.1
    assert r_train[0] < r_run[0]
    with pytest.raises(ValueError, match="scaling"):
        held_out_r2(y, base, feats, nuis, scaling="fold")


# --------------------------------------------------------------- the stage, real data


@pytest.fixture(scope="module")
def _real():
    try:
        pc.find_root()
    except FileNotFoundError:
        pytest.skip("Partly Cloudy data not under the data roots")


def test_partly_cloudy_is_a_named_stimulus(_real):
    from analysis_lib.stimuli import load_stimulus

    stim = load_stimulus("partly-cloudy")
    assert stim.n_volumes == pc.N_VOLUMES and stim.kind == "events"
    with pytest.raises(ValueError, match="fixed by the scans"):
        load_stimulus("partly-cloudy", tr=2.0)


def test_film_atoms_stage_and_cli(_real, tmp_path, capsys):
    from analysis_lib.cli import main
    from analysis_lib.film_atoms import FilmAtomsParams, cached_film_atoms, film_atoms

    ids = tuple(pc.subjects()[:4])
    params = FilmAtomsParams(
        model="tiny-bert", subjects=ids, n_atoms=4, n_perm=20, group_perm=20, n_folds=3
    )
    ds = cached_film_atoms(params)  # the CLI below reads the same cache entry
    assert ds.sizes["atom"] == 4 and ds.sizes["network"] == 8 and ds.sizes["subject"] == 4
    assert set(ds["network"].values) == set(pc.NETWORKS.values())
    assert ds["dr2"].shape == (4, pc.N_REGIONS) and np.isfinite(ds["dr2"]).all()
    assert np.all(np.abs(ds["r2_events"]) < 2)  # no exploded fold
    assert np.all((ds["p"] > 0) & (ds["p"] <= 1))
    assert ds.attrs["n_texts"] == len(set(pc.stimulus().texts))
    from dataclasses import replace

    two = replace(params, subjects=ids[:2], n_perm=0, group_perm=2)
    one_job, two_jobs = film_atoms(two), film_atoms(replace(two, n_jobs=2))
    np.testing.assert_array_equal(one_job["dr2"].values, two_jobs["dr2"].values)  # processes
    out = tmp_path / "fa.nc"
    args = ["film-atoms", "--model", "tiny-bert", "--subjects", *ids, "--n-atoms", "4"]
    args += ["--n-perm", "20", "--group-perm", "20", "--n-folds", "3", "--json", "-o", str(out)]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_subjects"] == 4 and len(result["atoms"]) == 4
    assert set(result["unique_variance"]) == set(pc.NETWORKS.values())
    np.testing.assert_allclose(xr.open_dataset(out)["dice"].values, ds["dice"].values)
