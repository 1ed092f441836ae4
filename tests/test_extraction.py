"""Artificial-neuron responses: windows, pooling, HRF, contract, determinism, bad input."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from nilearn.glm.first_level import compute_regressor
from scipy.stats import zscore as scipy_zscore

from analysis_lib import extraction, io, models, stimuli
from analysis_lib.extraction import extract, plan_windows

ROOT = Path(__file__).resolve().parents[1]


def _story(n_volumes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # words beyond the short grid are dropped
        return stimuli.load_stimulus("default-story", n_volumes=n_volumes)


@pytest.fixture(scope="module")
def short_story():
    return _story(24)  # 36 s, about 85 words


@pytest.fixture(scope="module")
def short_movie():
    return stimuli.default_movie(n_volumes=40, frames_per_tr=2)  # rest, then a scene


# ----------------------------------------------------------------- windows


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize(("n", "budget", "stride"), [(1000, 100, 50), (37, 10, 3), (5, 10, 5)])
def test_windows_cover_every_token_once(causal, n, budget, stride):
    windows = plan_windows(n, budget, stride, causal)
    targets = np.concatenate([np.arange(w.t_start, w.t_stop) for w in windows])
    np.testing.assert_array_equal(targets, np.arange(n))
    for w in windows:
        assert w.stop - w.start <= budget and w.start <= w.t_start and w.t_stop <= w.stop
        if n > budget:
            assert w.stop - w.start == budget  # windows stay full
        if causal:
            assert w.stop == w.t_stop  # causal: only left context
        elif n > budget:
            left, right = w.t_start - w.start, w.stop - w.t_stop
            need = (budget - stride) // 2
            assert left >= min(need, w.t_start) and right >= min(need, n - w.t_stop) - 1


def test_windows_bad_parameters():
    with pytest.raises(ValueError, match="stride"):
        plan_windows(100, 10, 20, True)


# ----------------------------------------------------------------- reference


def _reference_word_features(loaded, words, site):
    """Independent path: one pass over the whole text, hooks storing everything."""
    prefix, suffix = extraction._special_tokens(loaded.tokenizer)
    pieces = [
        loaded.tokenizer(w if i == 0 else " " + w, add_special_tokens=False)["input_ids"]
        for i, w in enumerate(words)
    ]
    ids = prefix + [t for p in pieces for t in p] + suffix
    store = {}
    handles = []
    for s in models.find_sites(loaded, site):
        module = dict(loaded.module.named_modules())[s.module_name]

        def hook(mod, args, out, name=s.module_name, io_=s.pattern.io):
            store[name] = (args[0] if io_ == "input" else out)[0].detach().numpy()

        handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        extraction._text_forward(loaded)(torch.tensor([ids]), torch.ones(1, len(ids), dtype=int))
    for h in handles:
        h.remove()
    acts = np.concatenate([store[s.module_name] for s in models.find_sites(loaded, site)], 1)
    acts = acts[len(prefix) : len(ids) - len(suffix)]
    bounds = np.cumsum([0] + [len(p) for p in pieces])
    return acts, bounds


def test_story_matches_independent_reference(short_story):
    """Pooling, HRF (nilearn) and z-scoring against a hand-written path."""
    loaded = models.load_model("tiny-bert")
    words = list(short_story.words["word"])
    acts, bounds = _reference_word_features(loaded, words, "ffn_out")
    word_feats = np.stack([acts[a:b].mean(0) for a, b in itertools.pairwise(bounds)])
    word_feats = word_feats - word_feats.mean(0)  # centre=True (the default)
    onsets = short_story.words["onset"].to_numpy()
    durations = (short_story.words["offset"] - short_story.words["onset"]).to_numpy()
    ref = np.column_stack(
        [
            compute_regressor(
                np.vstack([onsets, durations, word_feats[:, j]]),
                "spm",
                short_story.volume_times,
                oversampling=49,  # word times (0.01 s) never fall on the grid: no float ties
            )[0][:, 0]
            for j in range(word_feats.shape[1])
        ]
    )
    ref = scipy_zscore(ref, axis=0)
    out = extract(loaded, short_story, site="ffn_out", oversampling=49, progress=False)
    np.testing.assert_allclose(out.values, ref, atol=2e-4)
    raw = extract(loaded, short_story, site="ffn_out", zscore=False, hrf="glover", progress=False)
    assert not np.allclose(raw.values.std(0), 1.0)
    assert raw.attrs["hrf"] == "glover" and raw.attrs["units"] == "activation"


def test_subword_pooling_first_last_mean(short_story):
    loaded = models.load_model("tiny-bert")
    feats = {}
    for pooling in ("first", "last", "mean"):
        feats[pooling], _info = extraction.story_word_features(
            loaded,
            short_story,
            models.find_sites(loaded, "ffn_out"),
            context=512,
            stride=256,
            word_pooling=pooling,
            progress=False,
        )
    acts, bounds = _reference_word_features(loaded, list(short_story.words["word"]), "ffn_out")
    multi = np.flatnonzero(np.diff(bounds) >= 2)
    assert multi.size  # punctuation makes words of several WordPiece tokens
    for w in multi:
        np.testing.assert_allclose(feats["first"][w], acts[bounds[w]], atol=1e-5)
        np.testing.assert_allclose(feats["last"][w], acts[bounds[w + 1] - 1], atol=1e-5)
        np.testing.assert_allclose(
            feats["mean"][w], acts[bounds[w] : bounds[w + 1]].mean(0), atol=1e-5
        )


def test_causal_windows_keep_left_context_exact():
    """With a causal model, tokens of the first window see exactly the full-pass context."""
    story = _story(40)
    loaded = models.load_model("tiny-llama")
    sites = models.find_sites(loaded, "ffn_out")
    full, info_full = extraction.story_word_features(
        loaded, story, sites, context=2048, stride=1024, progress=False
    )
    windowed, info = extraction.story_word_features(
        loaded, story, sites, context=48, stride=16, progress=False
    )
    assert info_full["n_windows"] == 1 and info["n_windows"] > 3
    _, word_of = extraction.tokenize_words(loaded.tokenizer, list(story.words["word"]))
    budget = 48 - sum(len(x) for x in extraction._special_tokens(loaded.tokenizer))
    first_words = np.unique(word_of[:budget])[:-1]  # last may straddle the boundary
    np.testing.assert_allclose(windowed[first_words], full[first_words], atol=1e-5)
    later = np.unique(word_of[budget + 40 :])
    assert not np.allclose(windowed[later], full[later], atol=1e-4)  # less context later


# ----------------------------------------------------------------- contract


def _check_contract(r, stim, model):
    assert r.name == "responses" and r.dims == ("time", "neuron")
    np.testing.assert_allclose(r["time"].values, stim.volume_times)
    assert r["time"].attrs["units"] == "s"
    for coord, kind in (("layer", "i"), ("unit", "i")):
        assert r[coord].dims == ("neuron",) and r[coord].dtype.kind == kind
    assert r["site"].dtype.kind in "UO" and set(r["branch"].values) <= {"text", "vision", "cross"}
    for key in ("model", "weights_sha256", "stimulus", "tr", "hrf", "analysis_lib_version"):
        assert key in r.attrs
    assert r.attrs["model"] == model and r.attrs["stimulus"] == stim.name
    assert r.attrs["tr"] == stim.tr
    assert isinstance(json.loads(r.attrs["params"]), dict)
    assert np.isfinite(r.values).all() and r.dtype == np.float32


def test_contract_story_and_determinism(short_story):
    r = extract("tiny-llama", short_story, site="ffn_hidden", progress=False)
    _check_contract(r, short_story, "tiny-llama")
    assert r.sizes["neuron"] == models.REGISTRY["tiny-llama"].neurons("ffn_hidden")
    assert list(np.unique(r["layer"])) == [0, 1]
    np.testing.assert_allclose(r.values.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(r.values.std(0), 1, atol=1e-4)
    again = extract("tiny-llama", short_story, site="ffn_hidden", progress=False)
    np.testing.assert_array_equal(r.values, again.values)
    assert r.attrs == again.attrs
    other = extract("tiny-llama", short_story, site="ffn_hidden", seed=1, progress=False)
    assert other.attrs["weights_sha256"] != r.attrs["weights_sha256"]


def test_movie_clip_branches_and_tr_pooling(short_movie):
    loaded = models.load_model("tiny-clip")
    r = extract(loaded, short_movie, hrf="none", zscore=False, progress=False)
    _check_contract(r, short_movie, "tiny-clip")
    text = r.sel(neuron=r["branch"] == "text").values
    vision = r.sel(neuron=r["branch"] == "vision").values
    assert text.shape[1] == vision.shape[1] == 128
    texts = short_movie.texts
    same = [i for i in range(1, len(texts)) if texts[i] == texts[i - 1]]
    diff = [i for i in range(1, len(texts)) if texts[i] != texts[i - 1]]
    assert same and diff
    for i in same:  # identical text -> identical text-branch response (before the HRF)
        np.testing.assert_allclose(text[i], text[i - 1], atol=1e-6)
    for i in diff:
        assert not np.allclose(text[i], text[i - 1])
    # vision: mean over the TR's frames of the mean over tokens, checked by hand for one TR
    v = 15
    pixels = loaded.image_processor(np.asarray(short_movie.frames[2 * v : 2 * v + 2]))
    store = []
    name = models.find_sites(loaded, "attn_out")[2].module_name  # vision layer 0
    handle = dict(loaded.module.named_modules())[name].register_forward_hook(
        lambda m, a, o: store.append(o.detach())
    )
    with torch.no_grad():
        loaded.module.vision_model(pixel_values=pixels)
    handle.remove()
    expected = store[0].mean(dim=1).mean(dim=0).numpy()
    got = r.sel(neuron=(r["branch"] == "vision") & (r["layer"] == 0)).values[v]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # rest blocks are a flat grey screen: identical vision response
    np.testing.assert_allclose(vision[0], vision[5], atol=1e-6)
    assert not np.allclose(vision[0], vision[15])


def test_movie_bridgetower_cross_and_vit(short_movie):
    r = extract("tiny-bridgetower", short_movie, site="cross_attn_out", progress=False)
    _check_contract(r, short_movie, "tiny-bridgetower")
    assert set(r["branch"].values) == {"cross"}
    layer0 = r.sel(neuron=r["layer"] == 0)
    np.testing.assert_array_equal(layer0["unit"].values, np.arange(128))  # text 0-63, image 64-127
    attn = extract("tiny-bridgetower", short_movie, progress=False)
    assert (
        set(attn["branch"].values) == {"text", "vision"} and attn["site"].values[0] == "attn_out"
    )
    vit = extract("tiny-vit", short_movie, progress=False)
    assert set(vit["branch"].values) == {"vision"} and vit.sizes["neuron"] == 128


# ----------------------------------------------------------------- bad input


def test_bad_input(short_story, short_movie):
    with pytest.raises(ValueError, match=r"valid names: minilm"):
        extract("gpt-17", short_story)
    with pytest.raises(ValueError, match=r"default-story, alice, default-movie"):
        extract("tiny-bert", "no-such-stimulus")
    with pytest.raises(ValueError, match=r"unknown site 'mlp'"):
        extract("tiny-bert", short_story, site="mlp")
    with pytest.raises(ValueError, match=r"site 'cross_attn_out' does not exist in bert"):
        extract("tiny-bert", short_story, site="cross_attn_out")
    with pytest.raises(ValueError, match="has no frames"):
        extract("tiny-vit", short_story)
    with pytest.raises(ValueError, match="unknown hrf"):
        extract("tiny-bert", short_story, hrf="boxcar")
    with pytest.warns(UserWarning, match="outside the scan window"):
        extract("tiny-bert", "default-story", stimulus_kwargs={"n_volumes": 12}, progress=False)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "analysis_lib", "extract", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ},
    )


def test_cli_writes_contract_and_nothing_on_failure(tmp_path):
    out = tmp_path / "r.nc"
    res = _cli(
        "--model",
        "tiny-roberta",
        "--stimulus",
        "default-story",
        "--n-volumes",
        "20",
        "--out",
        str(out),
        "--quiet",
    )
    assert res.returncode == 0, res.stderr
    r = io.read_netcdf(out, variable="responses")
    assert r.dims == ("time", "neuron") and r.attrs["model"] == "tiny-roberta"
    assert r.attrs["stimulus"] == "default-story" and r.attrs["tr"] == 1.5
    assert r["site"].values[0] == "attn_out" and r["layer"].dtype.kind == "i"
    np.testing.assert_allclose(r["time"].values, 1.5 * np.arange(20))
    bad = tmp_path / "bad.nc"
    res = _cli("--model", "tiny-roberta", "--stimulus", "nope", "--out", str(bad))
    assert res.returncode == 2 and "default-story" in res.stderr
    assert not bad.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


# ----------------------------------------------------------------- pretrained


def test_minilm_short_story(short_story):
    r = extract("minilm", short_story, progress=False)
    _check_contract(r, short_story, "minilm")
    assert r.sizes["neuron"] == 6 * 384 and r["site"].values[0] == "ffn_out"


@pytest.fixture(scope="module")
def smollm2():
    return models.load_model("smollm2")


def test_smollm2_short_story(smollm2, short_story):
    assert type(smollm2.module).__name__ == "LlamaForCausalLM"
    r = extract(smollm2, short_story, site="ffn_hidden", progress=False)
    _check_contract(r, short_story, "smollm2")
    assert r.sizes["neuron"] == 30 * 1536
    assert list(np.unique(r["layer"])) == list(range(30))
    assert r.attrs["n_constant_neurons"] == 0


def test_cached_extract_reuses_the_file(monkeypatch, _data_home):
    cache = _data_home / "cache" / "extraction"
    before = set(cache.glob("*.nc"))  # the session's data home is shared by other tests
    first = extraction.cached_extract(
        "tiny-bert", "default-story", stimulus_kwargs={"n_volumes": 16}, progress=False
    )
    files = set(cache.glob("*.nc")) - before
    assert len(files) == 1

    def boom(*args, **kwargs):
        raise AssertionError("extract must not run on a cache hit")

    monkeypatch.setattr(extraction, "extract", boom)
    again = extraction.cached_extract(
        "tiny-bert", "default-story", stimulus_kwargs={"n_volumes": 16}, progress=False
    )
    np.testing.assert_array_equal(first.values, again.values)
    assert first.attrs == again.attrs
    with pytest.raises(AssertionError, match="cache hit"):  # another seed is another key
        extraction.cached_extract(
            "tiny-bert", "default-story", seed=3, stimulus_kwargs={"n_volumes": 16}
        )


def test_zscore_columns_matches_scipy_and_zeroes_constant_columns():
    from scipy.stats import zscore

    from analysis_lib.extraction import zscore_columns

    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 6)) * [1, 10, 1e3, 1e-3, 5, 1] + [0, 100, -3, 7, 1e4, 2]
    values[:, 5] = 2.5  # constant column
    values = values.astype(np.float32)
    out, n_constant = zscore_columns(values)
    assert out.dtype == np.float32 and n_constant == 1
    np.testing.assert_allclose(out[:, :5], zscore(values[:, :5].astype(np.float64)), atol=1e-6)
    assert np.all(out[:, 5] == 0)
