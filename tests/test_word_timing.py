"""Centring before the HRF removes the timing leak; word-timing regressors are right."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis_lib import extraction, models, stimuli
from analysis_lib.extraction import centre_words, extract
from analysis_lib.hrf import design_matrix
from analysis_lib.word_timing import syllable_counts, timing_features, timing_leak


@pytest.fixture(scope="module")
def story():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stimuli.load_stimulus("default-story", n_volumes=24)


@pytest.fixture(scope="module")
def tiny():
    return models.load_model("tiny-bert")


def _with_constant_neuron(monkeypatch, value=5.0):
    real = extraction.story_word_features

    def patched(*args, **kwargs):
        feats, info = real(*args, **kwargs)
        feats[:, 0] = value
        return feats, info

    monkeypatch.setattr(extraction, "story_word_features", patched)


def test_constant_neuron_contributes_nothing_after_centring(monkeypatch, story, tiny):
    _with_constant_neuron(monkeypatch)
    kw = dict(site="ffn_out", zscore=False, progress=False)
    centred = extract(tiny, story, **kw)
    raw = extract(tiny, story, centre=False, **kw)
    assert np.all(centred.values[:, 0] == 0)
    # without centring the constant neuron is 5 x the convolved word train
    rate = timing_features(story, ("rate",)).values[:, 0]
    np.testing.assert_allclose(raw.values[:, 0], 5.0 * rate, rtol=1e-5, atol=1e-6)
    assert raw.values[:, 0].std() > 0
    assert extraction.params_of(centred)["centre"] is True
    assert extraction.params_of(raw)["centre"] is False
    # every other neuron differs from the raw one by its mean x the word train only
    means = raw.values[:, 1:] - centred.values[:, 1:]
    coef = (rate @ means) / (rate @ rate)
    np.testing.assert_allclose(means, np.outer(rate, coef), rtol=1e-3, atol=1e-4)


def test_centring_lowers_the_timing_leak(story, tiny):
    kw = dict(site="ffn_out", progress=False)
    before = float(np.nanmedian(timing_leak(extract(tiny, story, centre=False, **kw), story)))
    after = float(np.nanmedian(timing_leak(extract(tiny, story, **kw), story)))
    assert after < before


def test_centre_words_zeroes_constant_and_centres():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 1.0, (50, 4)).astype(np.float32)
    x[:, 2] = 0.1  # not exactly representable: still exactly 0 after centring
    out = centre_words(x.copy())
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-6)
    assert np.all(out[:, 2] == 0)


def test_timing_features_against_design_matrix(story):
    t = timing_features(story)
    words = [str(w) for w in story.words["word"]]
    onsets = story.words["onset"].to_numpy(float)
    dur = (story.words["offset"] - story.words["onset"]).to_numpy(float)
    w = design_matrix(onsets, dur, story.volume_times)
    np.testing.assert_allclose(t.sel(feature="rate").values, w.sum(1))
    length = np.array([sum(c.isalpha() for c in s) for s in words], float)
    np.testing.assert_allclose(t.sel(feature="length").values, w @ (length - length.mean()))
    assert list(t["feature"].values) == ["rate", "length", "syllables"]


def test_syllables_and_leak_errors(story):
    assert list(syllable_counts(["cat", "beginning", "", "rabbit-hole"])) == [1, 3, 0, 3]
    with pytest.raises(ValueError, match="unknown timing feature 'pitch'"):
        timing_features(story, ("pitch",))
