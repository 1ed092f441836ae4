"""Word surprisal, entropy and perplexity of a causal language model on a story.

Each word is tokenized as in :mod:`analysis_lib.extraction` (so every token belongs to one
word) and the story is run in the same causal windows (``context`` tokens, the last
``stride`` of each window are targets, each seeing up to ``context - stride`` tokens of left
context). For a word ``w`` with tokens ``t_1..t_m``:

``surprisal``
    ``-sum_j log p(t_j | preceding tokens)`` in nats (the word's total surprisal, so it does
    not depend on how a tokenizer cuts the word);
``entropy``
    the entropy (nats) of the next-token distribution just before the word's first token
    (how uncertain the model was before the word arrived).

The story's first token has no left context (these models have no beginning-of-sequence
token in the windows), so the first word's values are NaN. The **per-word perplexity**
``exp(mean surprisal over words)`` is comparable across tokenizers; it is the capability
measure of the model on this text. :func:`surprisal_features` turns the per-word values
into HRF-convolved regressors (centred word events, NaN words at the mean), as
:func:`analysis_lib.extraction.extract` does for neuron activations.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from .stimuli import StoryStimulus, load_stimulus


def word_surprisal(
    model: str,
    stimulus: str | StoryStimulus = "alice",
    *,
    context: int = 512,
    stride: int = 256,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-word surprisal and entropy of a causal LM (no cache; see :func:`cached_surprisal`).

    Parameters
    ----------
    model : str
        Registered name of a causal text model (``smollm2``, ``qwen2.5-0.5b``,
        ``tiny-llama``...).
    stimulus : str or StoryStimulus
    context, stride : int
        Window length and new targets per window (tokens).
    seed : int
        Seed of a tiny model's random weights.

    Returns
    -------
    pandas.DataFrame
        One row per word: ``word``, ``onset``, ``offset``, ``n_tokens``, ``surprisal``,
        ``entropy`` (nats); attrs ``perplexity`` (per word), ``model``.

    Raises
    ------
    ValueError
        When the model is not causal or has no language-model head.
    """
    import torch

    from .extraction import _special_tokens, plan_windows, tokenize_words
    from .models import load_model

    stim = load_stimulus(stimulus)
    if not isinstance(stim, StoryStimulus):
        raise ValueError(f"{stim.name}: surprisal needs a story stimulus")
    loaded = load_model(model, seed=seed)
    if not loaded.family.causal or not hasattr(loaded.module, "lm_head"):
        raise ValueError(
            f"{model}: surprisal needs a causal language model with an LM head "
            f"({loaded.family.name} is not one)"
        )
    words = [str(w) for w in stim.words["word"]]
    ids, word_of = tokenize_words(loaded.tokenizer, words)
    prefix, _suffix = _special_tokens(loaded.tokenizer)
    budget = min(int(context), loaded.max_positions) - len(prefix)
    windows = plan_windows(ids.size, budget, min(int(stride), budget), causal=True)
    nll = np.full(ids.size, np.nan)
    ent = np.full(ids.size, np.nan)
    prefix_t = torch.tensor(prefix, dtype=torch.long)
    with torch.inference_mode():
        for w in windows:
            inp = torch.cat([prefix_t, torch.from_numpy(ids[w.start : w.stop])])[None]
            logp = torch.log_softmax(loaded.module(input_ids=inp).logits[0].float(), -1)
            tok = np.arange(w.t_start, w.t_stop)
            q = tok - w.start + len(prefix)  # positions of the targets in the window
            tok, q = tok[q > 0], q[q > 0]  # the story's first token has no left context
            rows = logp[torch.from_numpy(q - 1)]
            target = torch.from_numpy(ids[tok].astype(np.int64))[:, None]
            nll[tok] = -rows.gather(1, target)[:, 0].double().numpy()
            ent[tok] = -(rows.exp() * rows).sum(-1).double().numpy()
            del logp, rows
    n_words = len(words)
    first = np.r_[True, word_of[1:] != word_of[:-1]]
    surprisal = np.full(n_words, np.nan)
    sums = np.bincount(word_of, weights=np.nan_to_num(nll), minlength=n_words)
    has_nan = np.bincount(word_of, weights=np.isnan(nll), minlength=n_words) > 0
    counts = np.bincount(word_of, minlength=n_words)
    ok = (counts > 0) & ~has_nan
    surprisal[ok] = sums[ok]
    entropy = np.full(n_words, np.nan)
    entropy[word_of[first]] = ent[first]
    table = pd.DataFrame(
        {
            "word": words,
            "onset": stim.words["onset"].to_numpy(float),
            "offset": stim.words["offset"].to_numpy(float),
            "n_tokens": counts,
            "surprisal": surprisal,
            "entropy": entropy,
        }
    )
    table.attrs["perplexity"] = float(np.exp(np.nanmean(surprisal)))
    table.attrs["model"] = loaded.name
    return table


def cached_surprisal(
    model: str, stimulus: str | StoryStimulus = "alice", **kwargs
) -> pd.DataFrame:
    """:func:`word_surprisal` cached in ``$ANALYSIS_LIB_DATA/cache/surprisal`` (CSV + JSON).

    The key covers the weights digest, the stimulus digest, the keyword arguments and the
    package version.

    Parameters
    ----------
    model : str
        Registered causal language model.
    stimulus : str or StoryStimulus, default "alice"
        The story.
    **kwargs
        Passed to :func:`word_surprisal` (``context``, ``stride``, ``seed``).

    Returns
    -------
    pandas.DataFrame
        One row per word, as :func:`word_surprisal`.
    """
    from .extraction import _weights_key
    from .paths import data_home

    stim = load_stimulus(stimulus)
    payload = {
        "model": model,
        "weights": _weights_key(model, None, kwargs.get("seed", 0)),
        "stimulus": stim.sha256,
        "kwargs": dict(sorted(kwargs.items())),
        "version": __version__,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
    folder = data_home() / "cache" / "surprisal"
    path = folder / f"{digest}.csv"
    meta = folder / f"{digest}.json"
    if path.is_file() and meta.is_file():
        table = pd.read_csv(path, keep_default_na=False, na_values=[""])
        table.attrs.update(json.loads(meta.read_text()))
        return table
    table = word_surprisal(model, stim, **kwargs)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{digest}.tmp")
    table.to_csv(tmp, index=False)
    meta.write_text(json.dumps(table.attrs))
    tmp.replace(path)
    return table


def surprisal_features(
    table: pd.DataFrame, stimulus: str | StoryStimulus = "alice", *, hrf: str = "spm"
) -> xr.DataArray:
    """HRF-convolved ``surprisal`` and ``entropy`` regressors, dims (time, feature).

    Word amplitudes are centred over words (NaN words get the mean, i.e. 0 after centring),
    so the regressors carry what the values add to the word rate.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-word values from :func:`word_surprisal` (columns ``surprisal``, ``entropy``).
    stimulus : str or StoryStimulus, default "alice"
        The story whose word onsets and scan clock are used.
    hrf : str, default "spm"
        HRF model.

    Returns
    -------
    xarray.DataArray, shape (n_volumes, 2)
        The two regressors, dims (time, feature).
    """
    from .word_timing import word_weights

    stim = load_stimulus(stimulus)
    if len(table) != len(stim.words):
        raise ValueError(
            f"surprisal table has {len(table)} words, the stimulus {stim.name} "
            f"{len(stim.words)}; not the same story"
        )
    cols = []
    for name in ("surprisal", "entropy"):
        a = table[name].to_numpy(float)
        a = np.where(np.isnan(a), np.nanmean(a), a)
        cols.append(a - a.mean())
    values = word_weights(stim, hrf) @ np.column_stack(cols)
    return xr.DataArray(
        values,
        dims=("time", "feature"),
        coords={"time": stim.volume_times.astype(float), "feature": ["surprisal", "entropy"]},
        name="surprisal",
        attrs={"model": table.attrs.get("model", ""), "perplexity": table.attrs["perplexity"]},
    )
