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

The scores come from the final hidden state of the windows'
forward passes (:class:`TokenScorer`, the LM head applied only at the target rows), so a
model's neurons and its surprisal can come from one pass over the story
(:func:`cached_story_pass`), which is what the Alice comparison does.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from .stimuli import StoryStimulus, load_stimulus

#: Window settings of the surprisal pass (``extract``'s defaults too: a test checks it).
DEFAULTS = {"context": 512, "stride": 256, "seed": 0}


class TokenScorer:
    """Scores every target token of a story under a causal LM's head, window by window.

    Given to :func:`analysis_lib.extraction.story_word_features` (or ``extract``), it
    receives the token ids and, after each window's forward pass, the final hidden state;
    it applies the LM head to the rows that predict the window's targets only, so it
    costs a fraction of a second forward pass. Then :meth:`table` gives the per-word
    values.

    Attributes
    ----------
    done : bool
        Whether a pass has fed it (False after a cache hit of the extraction).
    nll, entropy : numpy.ndarray, shape (n_tokens,)
        Per-token negative log-likelihood and next-token entropy (nats); NaN for the
        story's first token.
    """

    def __init__(self) -> None:
        self.done = False
        self.nll = self.entropy = self.word_of = None
        self.model = ""

    def start(self, loaded, ids: np.ndarray, word_of: np.ndarray, n_prefix: int) -> None:
        """Begin a story.

        Parameters
        ----------
        loaded : LoadedModel
            The causal language model that runs the windows.
        ids : numpy.ndarray, shape (n_tokens,)
            The story's token ids.
        word_of : numpy.ndarray, shape (n_tokens,)
            The word of each token.
        n_prefix : int
            Special tokens before each window's content.

        Raises
        ------
        ValueError
            When the model is not causal or has no LM head.
        """
        if not loaded.family.causal or not hasattr(loaded.module, "lm_head"):
            raise ValueError(
                f"{loaded.name}: surprisal needs a causal language model with an LM head "
                f"({loaded.family.name} is not one)"
            )
        self._head = loaded.module.lm_head
        self._ids = ids
        self._n_prefix = int(n_prefix)
        self.word_of = word_of
        self.nll = np.full(ids.size, np.nan)
        self.entropy = np.full(ids.size, np.nan)
        self.model = loaded.name
        self.done = True

    def window(self, hidden, w) -> None:
        """Score a window's targets from its final hidden state.

        Parameters
        ----------
        hidden : torch.Tensor, shape (n_positions, d_model)
            The final hidden state of the window (special tokens included).
        w : analysis_lib.extraction.Window
            The window (its tokens and targets in the story).
        """
        import torch

        tok = np.arange(w.t_start, w.t_stop)
        q = tok - w.start + self._n_prefix  # positions of the targets in the window
        tok, q = tok[q > 0], q[q > 0]  # the story's first token has no left context
        if not tok.size:
            return
        rows = torch.from_numpy(q - 1).to(hidden.device)
        logp = torch.log_softmax(self._head(hidden[rows]).float(), -1)
        target = torch.from_numpy(self._ids[tok].astype(np.int64))[:, None].to(hidden.device)
        self.nll[tok] = -logp.gather(1, target)[:, 0].double().cpu().numpy()
        self.entropy[tok] = -(logp.exp() * logp).sum(-1).double().cpu().numpy()

    def table(self, stim: StoryStimulus) -> pd.DataFrame:
        """Per-word ``surprisal`` (sum over the word's tokens) and ``entropy`` (before it).

        Parameters
        ----------
        stim : StoryStimulus
            The story that was run.

        Returns
        -------
        pandas.DataFrame
            One row per word, as :func:`word_surprisal`.
        """
        if not self.done:
            raise RuntimeError("TokenScorer.table: no pass has fed this scorer")
        words = [str(w) for w in stim.words["word"]]
        n_words, word_of, nll = len(words), self.word_of, self.nll
        first = np.r_[True, word_of[1:] != word_of[:-1]]
        sums = np.bincount(word_of, weights=np.nan_to_num(nll), minlength=n_words)
        has_nan = np.bincount(word_of, weights=np.isnan(nll), minlength=n_words) > 0
        counts = np.bincount(word_of, minlength=n_words)
        ok = (counts > 0) & ~has_nan
        surprisal = np.full(n_words, np.nan)
        surprisal[ok] = sums[ok]
        entropy = np.full(n_words, np.nan)
        entropy[word_of[first]] = self.entropy[first]
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
        table.attrs["model"] = self.model
        return table


def _story(stimulus: str | StoryStimulus) -> StoryStimulus:
    stim = load_stimulus(stimulus)
    if not isinstance(stim, StoryStimulus):
        raise ValueError(f"{stim.name}: surprisal needs a story stimulus")
    return stim


def word_surprisal(
    model: str,
    stimulus: str | StoryStimulus = "alice",
    *,
    context: int = DEFAULTS["context"],
    stride: int = DEFAULTS["stride"],
    seed: int = DEFAULTS["seed"],
) -> pd.DataFrame:
    """Per-word surprisal and entropy of a causal LM (no cache; see :func:`cached_surprisal`).

    The story runs through the windows of :func:`analysis_lib.extraction.story_word_features`
    (no neurons recorded), scored by a :class:`TokenScorer`.

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
    from .extraction import story_word_features
    from .models import load_model

    stim = _story(stimulus)
    loaded = load_model(model, seed=seed)
    scorer = TokenScorer()
    story_word_features(
        loaded, stim, [], context=context, stride=stride, progress=False, lm_scorer=scorer
    )
    return scorer.table(stim)


def _cache_paths(model: str, stim: StoryStimulus, settings: dict):
    from .codehash import code_digest
    from .extraction import _weights_key
    from .paths import data_home

    payload = {
        "model": model,
        "weights": _weights_key(model, None, settings["seed"]),
        "stimulus": stim.sha256,
        "kwargs": dict(sorted(settings.items())),
        "version": __version__,
        "code": code_digest([__name__]),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
    folder = data_home() / "cache" / "surprisal"
    return folder / f"{digest}.csv", folder / f"{digest}.json"


def _settings(kwargs: dict) -> dict:
    unknown = sorted(set(kwargs) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"surprisal: unknown setting(s) {unknown}; valid: {sorted(DEFAULTS)}")
    return {**DEFAULTS, **kwargs}


def _read_table(path, meta) -> pd.DataFrame | None:
    if not (path.is_file() and meta.is_file()):
        return None
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    table.attrs.update(json.loads(meta.read_text()))
    return table


def _write_table(table: pd.DataFrame, path, meta) -> None:
    """Write the CSV and its JSON atomically; the CSV (written last) marks a complete entry."""
    from .io import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(meta, json.dumps(table.attrs))
    atomic_write_text(path, table.to_csv(index=False))


def cached_surprisal(
    model: str, stimulus: str | StoryStimulus = "alice", **kwargs
) -> pd.DataFrame:
    """:func:`word_surprisal` cached in ``$ANALYSIS_LIB_DATA/cache/surprisal`` (CSV + JSON).

    The key covers the weights digest, the stimulus digest, the settings (defaults filled
    in, :data:`DEFAULTS`), the package version and the digest of the code.

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
    stim = _story(stimulus)
    settings = _settings(kwargs)
    path, meta = _cache_paths(model, stim, settings)
    table = _read_table(path, meta)
    if table is None:
        table = word_surprisal(model, stim, **settings)
        _write_table(table, path, meta)
    return table


def cached_story_pass(
    model: str, stimulus: str | StoryStimulus = "alice", *, seed: int = 0
) -> tuple[xr.DataArray, pd.DataFrame]:
    """Neuron responses and word surprisal of a causal LM from one pass over the story.

    Returns what ``cached_extract(model, stimulus, progress=False, seed=seed)`` and
    ``cached_surprisal(model, stimulus, seed=seed)`` return, and leaves both in their
    caches. When neither is cached, one set of forward passes serves both (the LM head
    applied to the final hidden state at the target tokens, :class:`TokenScorer`), instead
    of a second pass over the story for the surprisal.

    Parameters
    ----------
    model : str
        Registered causal language model with an LM head.
    stimulus : str or StoryStimulus, default "alice"
        The story.
    seed : int, default 0
        Seed of a tiny model's random weights.

    Returns
    -------
    tuple of (xarray.DataArray, pandas.DataFrame)
        The responses (time, neuron), default extraction settings, and the per-word table.
    """
    from .extraction import cached_extract

    stim = _story(stimulus)
    settings = _settings({"seed": seed})
    path, meta = _cache_paths(model, stim, settings)
    table = _read_table(path, meta)
    scorer = TokenScorer() if table is None else None
    # The windows are the surprisal's (spelt out, so the scores match their cache key);
    # they are also the extraction's defaults, so the responses are its default entry.
    responses = cached_extract(model, stim, progress=False, lm_scorer=scorer, **settings)
    if table is None:
        if scorer.done:
            table = scorer.table(stim)
        else:  # the responses were cached: score the story on its own
            table = word_surprisal(model, stim, **settings)
        _write_table(table, path, meta)
    return responses, table


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
