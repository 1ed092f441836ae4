"""Compare stage: ceiling with known truth, group statistics vs references, nested CV on
synthetic data with known unique variance and on null data, parameters and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from analysis_lib.comparison import CompareParams
from analysis_lib.comparison.ceiling import loso_isc, one_factor_ceiling
from analysis_lib.comparison.features import parse_specs
from analysis_lib.comparison.nested import held_out_r2
from analysis_lib.comparison.stats import bootstrap_ci, holm, sign_flip_pvalue


def _one_factor(n_subjects, n_time, rho, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_time, 2))
    rho = np.asarray(rho)[:, None, None]
    e = rng.standard_normal((n_subjects, n_time, 2))
    return rho * z[None] + np.sqrt(1 - rho**2) * e


def test_one_factor_ceiling_recovers_known_ceiling():
    rho = np.linspace(0.3, 0.8, 12)  # unequal signal-to-noise across subjects
    est = np.mean([one_factor_ceiling(_one_factor(12, 2000, rho, s)) for s in range(20)], 0)
    np.testing.assert_allclose(est.mean(1), rho**2, atol=0.02)
    # the LOSO ISC is biased low as a ceiling of r (what the old chapter used)
    loso = np.mean([loso_isc(_one_factor(12, 2000, rho, s)) for s in range(5)], 0)
    assert np.all(loso.mean(1) < rho - 0.01)


def test_ceiling_on_null_data_is_near_zero_and_needs_three_subjects():
    # no shared signal: the denominator is sampling noise around 0, so the ratio is NaN
    # (denominator <= 0) or small and unstable; its median stays near the true 0
    est = one_factor_ceiling(_one_factor(10, 2000, np.zeros(10), 0))
    assert np.nanmedian(np.abs(est)) < 0.02
    with pytest.raises(ValueError, match="at least 3 subjects"):
        one_factor_ceiling(np.zeros((2, 10, 1)))


def test_sign_flip_exact_matches_enumeration_and_monte_carlo():
    rng = np.random.default_rng(1)
    x = rng.normal(0.3, 1, 10)
    ref = np.mean(
        [
            abs(np.mean(np.array(s) * x)) >= abs(x.mean())
            for s in itertools.product((1, -1), repeat=10)
        ]
    )
    assert sign_flip_pvalue(x) == pytest.approx(ref)
    y = rng.normal(0.3, 1, 20)
    mc = sign_flip_pvalue(y, n_perm=20000)
    t = sps.ttest_1samp(y, 0).pvalue  # a permutation and a t test agree roughly
    assert abs(mc - t) < 0.05
    assert sign_flip_pvalue(rng.normal(0, 1, 40) + 5) == pytest.approx(1 / 10001)


def test_bootstrap_ci_covers_and_is_seeded():
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(100):
        lo, hi = bootstrap_ci(rng.normal(1.0, 1.0, 30), n_resamples=1000)
        hits += lo <= 1.0 <= hi
    assert 88 <= hits <= 100
    x = rng.normal(size=15)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)


def test_holm_matches_definition():
    p = np.array([[0.01, 0.04], [0.03, np.nan], [0.005, 0.5]])
    flat = p[~np.isnan(p)]
    order = np.argsort(flat)
    m = flat.size
    ref = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * flat[i]))
        ref[i] = running
    out = holm(p)
    np.testing.assert_allclose(out[~np.isnan(p)], ref)
    assert np.isnan(out[1, 1])


def _synthetic(seed, effect):
    rng = np.random.default_rng(seed)
    T = 362
    base = rng.standard_normal((T, 4))
    f = rng.standard_normal((T, 6))
    y = base[:, :1] + effect * f[:, :2].sum(1, keepdims=True) + rng.standard_normal((T, 3))
    return y, base, f, np.ones((T, 1))


def test_nested_cv_finds_unique_variance_and_not_in_null():
    y, base, f, nuis = _synthetic(0, 0.6)
    rng = np.random.default_rng(5)
    rb, rf = held_out_r2(
        y, base, {"real": f, "null": rng.standard_normal(f.shape)}, nuis, n_iter=5
    )
    # known truth: var(base part)=1, var(feature part)=0.72, noise 1
    np.testing.assert_allclose(rb, 1 / 2.72, atol=0.08)
    np.testing.assert_allclose(rf["real"], 1.72 / 2.72, atol=0.08)
    assert np.all(rf["real"] - rb > 0.15)
    assert np.all(np.abs(rf["null"] - rb) < 0.03)


def test_params_and_specs():
    p = CompareParams(features="authors,atoms:minilm,atoms:minilm:32,surprisal:smollm2")
    assert [s.name for s in p.feature_specs] == [
        "authors",
        "atoms:minilm:16",
        "atoms:minilm:32",
        "surprisal:smollm2",
    ]
    assert [s.name for s in CompareParams(features="layers:tiny-bert").feature_specs][:2] == [
        "pcs:tiny-bert:L0",
        "pcs:tiny-bert:L1",
    ]
    with pytest.raises(ValueError, match="unknown kind 'atom'"):
        CompareParams(features="atom:minilm")
    with pytest.raises(ValueError, match="base must be"):
        CompareParams(base="rate,pitch")
    with pytest.raises(ValueError, match="given twice"):
        parse_specs("timing,timing", 16)
    with pytest.raises(ValueError, match="n_folds must be >= 2"):
        CompareParams(n_folds=1)


def test_presets_book_is_a_bounded_subset_of_study_a(monkeypatch, tmp_path):
    import analysis_lib.models as models

    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(tmp_path))  # nothing prepared here
    book = [s.name for s in CompareParams(features="book").feature_specs]
    full = [s.name for s in CompareParams(features="study-a").feature_specs]
    assert set(book) < set(full)
    assert not any("qwen" in n or n.startswith("pcs:") for n in book)
    sweeps = {n.split(":")[1] for n in book if n.startswith("atoms:") and not n.endswith(":16")}
    assert sweeps == {"minilm"}
    assert {"authors", "timing", "surprisal:tiny-llama", "surprisal:smollm2"} <= set(book)
    assert {f"atoms:{m}:16" for m in ("tiny-bert", "tiny-llama", "minilm", "smollm2")} <= set(book)
    # prepared Qwen weights bring the Qwen atoms and surprisal in
    monkeypatch.setattr(models, "is_available", lambda name: True)
    book_q = [s.name for s in CompareParams(features="book").feature_specs]
    assert {"atoms:qwen2.5-1.5b:16", "surprisal:qwen2.5-0.5b"} <= set(book_q)
    assert not set(book) - set(book_q)


def test_surprisal_matches_a_direct_forward_pass():
    import warnings

    import torch

    from analysis_lib import models, stimuli
    from analysis_lib.extraction import tokenize_words
    from analysis_lib.surprisal import surprisal_features, word_surprisal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stim = stimuli.load_stimulus("default-story", n_volumes=20)
    table = word_surprisal("tiny-llama", stim, context=16, stride=8)
    assert np.isnan(table["surprisal"].iloc[0]) and len(table) == len(stim.words)
    m = models.load_model("tiny-llama")
    ids, word_of = tokenize_words(m.tokenizer, list(stim.words["word"]))
    with torch.no_grad():
        lp = torch.log_softmax(m.module(input_ids=torch.tensor(ids[:16])[None]).logits[0], -1)
    nll = -np.array([float(lp[i - 1, ids[i]]) for i in range(1, 16)])
    w = word_of[1:16]
    last = word_of[15]  # the last word of the first window may continue in the next
    ref = [nll[w == k].sum() for k in range(1, last)]
    np.testing.assert_allclose(table["surprisal"].to_numpy()[1:last], ref, rtol=1e-4)
    ppl = np.exp(np.nanmean(table["surprisal"]))
    assert table.attrs["perplexity"] == pytest.approx(ppl)
    x = surprisal_features(table, stim)
    assert x.shape == (stim.n_volumes, 2) and np.isfinite(x.values).all()
    with pytest.raises(ValueError, match="not one"):
        word_surprisal("tiny-bert", stim)


def test_one_story_pass_fills_the_extraction_and_surprisal_caches(monkeypatch, tmp_path):
    import warnings

    from analysis_lib import extraction, stimuli, surprisal

    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(tmp_path / "home"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stim = stimuli.load_stimulus("default-story", n_volumes=30)
    # reference: the surprisal-only pass and the neuron-only pass, each on its own
    alone = surprisal.word_surprisal("tiny-llama", stim)
    plain = extraction.extract("tiny-llama", stim, progress=False)
    passes = []
    real = extraction.story_word_features

    def counted(*args, **kwargs):
        passes.append(kwargs.get("lm_scorer") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(extraction, "story_word_features", counted)
    # the surprisal windows are the extraction's defaults: one pass is the default entry
    ex = extraction._EXTRACT_DEFAULTS
    assert surprisal.DEFAULTS == {
        "context": ex["context"],
        "stride": ex["stride"] or ex["context"] // 2,
        "seed": ex["seed"],
    }
    responses, table = surprisal.cached_story_pass("tiny-llama", stim)
    assert passes == [True]  # one pass, scored
    np.testing.assert_array_equal(responses.values, plain.values)
    np.testing.assert_allclose(table["surprisal"], alone["surprisal"], rtol=1e-5)
    np.testing.assert_allclose(table["entropy"], alone["entropy"], rtol=1e-5)
    assert table.attrs["perplexity"] == pytest.approx(alone.attrs["perplexity"], rel=1e-5)

    def refuse(*args, **kwargs):
        raise AssertionError("recomputed instead of read from the cache")

    monkeypatch.setattr(extraction, "extract", refuse)
    monkeypatch.setattr(surprisal, "word_surprisal", refuse)
    # both entries are the ones the plain calls look up, defaults spelt out or not
    hit = extraction.cached_extract("tiny-llama", stim, progress=False, context=512)
    np.testing.assert_array_equal(hit.values, plain.values)
    again = surprisal.cached_surprisal("tiny-llama", stim, stride=256)
    np.testing.assert_allclose(again["surprisal"], table["surprisal"], rtol=1e-12)
    with pytest.raises(TypeError, match="unknown setting"):
        surprisal.cached_surprisal("tiny-llama", stim, strides=256)


def test_story_pass_refuses_a_model_without_an_lm_head(tmp_path, monkeypatch):
    import warnings

    from analysis_lib import stimuli, surprisal

    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(tmp_path / "home"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stim = stimuli.load_stimulus("default-story", n_volumes=20)
    with pytest.raises(ValueError, match="tiny-bert: surprisal needs a causal"):
        surprisal.cached_story_pass("tiny-bert", stim)
    assert not list((tmp_path / "home").rglob("*.nc"))  # nothing half-written


def test_compare_on_real_alice_subjects_if_present(monkeypatch):
    from analysis_lib.comparison import compare
    from analysis_lib.datasets import alice

    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", "/work/shared/data")
    if not alice.available():
        pytest.skip("Alice data not present")
    subjects = alice.subjects(warn=False)[:4]
    p = CompareParams(subjects=tuple(subjects), features="authors,timing", n_boot=200, n_perm=200)
    ds = compare(p, progress=False)
    assert ds["dr2"].shape == (2, 4, 6)
    assert np.isfinite(ds["dr2"]).all() and np.isfinite(ds["r2_base"]).all()
    lo, hi, mean = ds["dr2_ci_low"], ds["dr2_ci_high"], ds["dr2_mean"]
    assert bool(((lo <= mean) & (mean <= hi)).all())
    assert (ds["p_holm"] >= ds["p_signflip"]).all()
    np.testing.assert_allclose(ds["dr2"], ds["r2_full"] - ds["r2_base"])
    assert ds.attrs["stage"] == "compare"
    again = compare(p, progress=False)
    np.testing.assert_array_equal(ds["dr2"].values, again["dr2"].values)  # same seed


def test_constant_roi_column_excludes_subject_with_warning(monkeypatch, tmp_path):
    import shutil

    from analysis_lib.comparison.stage import usable_subjects
    from analysis_lib.datasets import alice

    src = alice.data_dir() if alice.available() else None
    if src is None:
        pytest.skip("Alice data not present")
    root = tmp_path / "alice" / "alice_data_shared" / "6mm"
    root.mkdir(parents=True)
    subjects = alice.subjects(warn=False)[:3]
    for s in subjects:
        shutil.copy(src / "6mm" / f"{s}-timecourses.txt", root)
    table = np.loadtxt(root / f"{subjects[1]}-timecourses.txt")
    table[:, 4] = 1.5
    np.savetxt(root / f"{subjects[1]}-timecourses.txt", table)
    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", str(tmp_path))
    alice._scan.cache_clear()
    keep, notes = usable_subjects(CompareParams())
    assert keep == [subjects[0], subjects[2]]
    assert len(notes) == 1 and subjects[1] in notes[0] and "LPreM" in notes[0]


def test_band_weights_grid_reaches_both_ends():
    from analysis_lib.comparison.nested import band_weights

    g = band_weights(10)
    assert g.shape == (10, 2) and np.allclose(g.sum(1), 1) and (g > 0).all()
    assert g[0, 1] < 1e-4 and g[-1, 0] < 1e-4
    with pytest.raises(ValueError, match="n >= 2"):
        band_weights(1)
