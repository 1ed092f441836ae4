"""phantom-content and the held-out-seed validation (issue 14 items 1, 3-5)."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from analysis_lib import datasets, validation
from analysis_lib import validation_score as vs
from analysis_lib.datasets import phantom_content as pc

SMALL = {"stride": 96, "n_subjects": 4}


@pytest.fixture(scope="module")
def truth():
    return datasets.ground_truth("phantom-content", cache=False, **SMALL)


def test_content_features_are_not_word_timing(truth):
    assert np.all(truth["timing_r2"].values <= 0.3)
    assert np.all(np.abs(truth["timing_r2"].values) < 1e-6)  # residualised
    assert truth.attrs["planted_atlas"] != truth.attrs["atlas"]
    # the rule gives several matched networks, some with two features (mixtures)
    fn = truth["feature_network"].values
    assert fn.any(axis=0).sum() >= 3 and (fn.sum(axis=0) >= 2).any()


def test_null_is_the_same_noise_and_seeds_differ():
    p = pc.ContentParams(**SMALL)
    a, sig = pc.simulate_subject(p, 0)
    b, _ = pc.simulate_subject(pc.ContentParams(kind="content-null", **SMALL), 0)
    driven = np.abs(sig).max(axis=0) > 0
    assert driven.any() and not driven.all()
    np.testing.assert_array_equal(a[:, ~driven], b[:, ~driven])  # the same noise
    assert np.abs(a[:, driven] - b[:, driven]).max() > 0
    c, _ = pc.simulate_subject(pc.ContentParams(seed=1, **SMALL), 0)
    assert not np.allclose(a, c)
    a2, _ = pc.simulate_subject(p, 0)
    np.testing.assert_array_equal(a, a2)


def test_hrf_varies_by_subject_and_region():
    p = pc.ContentParams(**SMALL)
    peak0, _ = pc.subject_hrfs(p, 0)
    peak1, _ = pc.subject_hrfs(p, 1)
    assert peak0.std() > 0.2 and not np.allclose(peak0, peak1)
    from nilearn.glm.first_level import spm_hrf

    ref = spm_hrf(pc.DT, oversampling=1, time_length=32.0)
    h = pc.double_gamma()
    n = min(h.size, ref.size)
    assert np.corrcoef(h[:n], ref[:n])[0, 1] > 0.999
    assert abs(np.argmax(h) - np.argmax(ref)) * pc.DT <= 0.2


def test_loo_isc_matches_by_hand(rng):
    x = rng.standard_normal((3, 50, 2))
    isc = pc.loo_isc(x)
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)  # subjects z-scored first
    o = z[1:].mean(0)
    np.testing.assert_allclose(isc[0, 0], np.corrcoef(x[0, :, 0], o[:, 0])[0, 1])
    with pytest.raises(ValueError):
        pc.loo_isc(x[:1])


def test_study_a_settings_are_the_grids():
    cfg = yaml.safe_load(Path("configs/default.yaml").read_text())
    grids = {g["name"]: g for g in cfg["grids"]}
    atoms, group = grids["study-a-atoms"]["fixed"], grids["study-a-group"]["fixed"]
    s = validation.STUDY_A
    assert (s["n_atoms"], s["alpha"], s["stimulus"]) == (
        atoms["n_atoms"],
        atoms["alpha"],
        atoms["stimulus"],
    )
    assert (s["correction"], s["threshold"]) == (group["correction"], group["threshold"])
    assert (s["n_perm_group"], s["n_perm_networks"]) == (group["n_perm"], group["n_perm_networks"])
    assert set(validation.TUNING_SEEDS).isdisjoint(validation.HELDOUT_SEEDS)
    assert len(validation.HELDOUT_SEEDS) >= 20


def _feature_atoms(truth):
    f = truth["features"]
    return xr.DataArray(
        f.values, dims=("time", "atom"), coords={"time": f["time"].values, "atom": range(4)}
    )


FAST = {"n_perm_group": 255, "n_perm_networks": 1000}
MEDIUM = {"stride": 24}


def test_feature_atoms_score_and_timing_atoms_fail(truth):
    """The scoring can tell right atoms from timing atoms on the same phantom."""
    t = datasets.ground_truth("phantom-content", **MEDIUM)
    good = validation.content_seed(_feature_atoms(t), 0, settings=FAST, **MEDIUM)
    bad = validation.content_seed(validation.timing_atoms(t), 0, settings=FAST, **MEDIUM)
    assert good["n_truth"] > 0 and good["tp"] >= 2 and good["precision"] >= 0.5
    assert good["f1"] > bad["f1"]
    assert bad["n_truth"] == 0 and bad["fp"] <= 1
    for r in (good, bad):
        assert 0 <= r["null_fpr"] <= 1


def test_shifted_atoms_roll_by_half():
    a = xr.DataArray(np.arange(10.0)[:, None], dims=("time", "atom"), coords={"atom": [0]})
    np.testing.assert_array_equal(validation.shifted_atoms(a).values[:, 0], np.roll(a[:, 0], 5))


def test_cli_prints_one_json_object(capsys, monkeypatch):
    from analysis_lib.cli import validate as cli

    assert cli._seeds("20-22,5") == (20, 21, 22, 5)
    seen = {}

    def fake(**kw):
        seen.update(kw)
        m = {"mean": 0.1, "low": 0.03, "high": 0.06, "n": 2}
        return {
            "per_seed": [],
            "summary": {k: m for k in ("precision", "recall", "f1", "null_fpr")},
        }

    monkeypatch.setattr(validation, "validate_content", fake)
    import argparse

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--model", "tiny-bert", "--seeds", "20-21", "--json"])
    assert cli.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["role"] == "negative control" and out["summary"]["passed"] is True
    assert seen["seeds"] == (20, 21)
    with pytest.raises(ValueError, match="Study B"):
        cli.run(parser.parse_args(["--study", "b"]))


def test_truth_rule_is_applied(truth):
    c = vs.carried_features(_feature_atoms(truth), truth["features"])
    assert np.all(np.diag(c.values))
