"""Temporal responses of artificial neurons on the fMRI clock.

:func:`extract` runs a stimulus through a model with forward hooks on the modules of one
neuron site (see :mod:`analysis_lib.models`) and returns the responses of every neuron
at the volume times, as a labeled :class:`xarray.DataArray` ``responses`` with dims
``(time, neuron)``.

Stories (:class:`~analysis_lib.stimuli.StoryStimulus`)
    Each word is tokenized on its own (with a leading space after the first word, which
    reproduces the tokenization of the running text for WordPiece and byte-level BPE), so
    every token belongs to exactly one word. Long stories are cut into windows of
    ``context`` tokens (special tokens included) that advance by ``stride`` tokens; each
    token is recorded exactly once, in the window where it is a *target*:

    * causal models (Llama): targets are the last ``stride`` tokens of a window, so each
      token sees up to ``context - stride`` tokens of left context (the first window
      records all its tokens);
    * bidirectional models (BERT, RoBERTa): targets are the central ``stride`` tokens, with
      about ``(context - stride) / 2`` tokens of context on each side (windows are shifted
      at the story edges so they stay full).

    Sub-word activations are pooled to words (``word_pooling``: ``"mean"``, ``"first"`` or
    ``"last"`` token). Each neuron's word activations are then **centred** (its mean over
    the story's words subtracted; ``centre=True``, the default), and each word becomes a
    boxcar event from its onset to its offset, with the centred activations as amplitudes,
    convolved with the HRF on a fine grid and sampled at the volume times
    (:mod:`analysis_lib.hrf`). Without centring, a neuron's mean activation multiplies the
    word train, so every neuron carries a copy of the word rate (a timing leak that makes
    any network, trained or random, look like a word-rate predictor);
    :func:`analysis_lib.word_timing.timing_leak` measures it. ``centre=False`` keeps the raw
    amplitudes (the earlier behaviour).
Movies (:class:`~analysis_lib.stimuli.MovieStimulus`)
    Each branch sees its own modality: vision encoders see the frames, text encoders the
    text of each TR (captions overlapping it); BridgeTower, the cross-modal model, sees each
    (frame, text of its TR) pair. Activations are averaged over the token positions of a
    sequence (padding excluded, special tokens included, so a TR without text still has a
    defined response), then over the frames of a TR. Each TR is a boxcar event
    ``[t_v, t_v + tr)`` convolved with the HRF and sampled at the volume times.
Text events (:class:`~analysis_lib.datasets.partly_cloudy.EventStimulus`)
    The annotated events of a film without dialogue (``kind == "events"``): only the text
    branch runs (:func:`text_event_features`), each TR's text is the descriptions of the
    events overlapping it, and each TR is a boxcar as for movies.

Finally each neuron's time course is z-scored over time (``zscore=True``, population
standard deviation; a constant neuron becomes all zeros and is counted in the attrs).

Memory: the word (or TR) by neuron array is the only large buffer (one contiguous block per
hooked module while running); hooks pool activations into it in place, so peak memory stays near the weights plus one words x neurons float32
array (see ``benchmarks/extraction_overhead.py``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import __version__
from .hrf import HRF_MODELS, design_matrix
from .io import provenance
from .models import SITES, HookSite, LoadedModel, find_sites, load_model
from .stimuli import MovieStimulus, StoryStimulus, load_stimulus

WORD_POOLING = ("mean", "first", "last")
DEFAULT_CONTEXT = 512


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Window:
    """One forward pass over a story: tokens ``[start, stop)``; targets ``[t_start, t_stop)``."""

    start: int
    stop: int
    t_start: int
    t_stop: int


def plan_windows(n_tokens: int, budget: int, stride: int, causal: bool) -> list[Window]:
    """Cut ``n_tokens`` content tokens into windows of at most ``budget`` tokens.

    Every token is a target of exactly one window. See the module docstring for the
    causal (left context) and bidirectional (both sides) schemes.

    Parameters
    ----------
    n_tokens : int
        Number of content tokens (no special tokens).
    budget : int
        Content tokens per window (``context`` minus the special tokens).
    stride : int
        Targets per window (after the first window for causal models), ``<= budget``.
    causal : bool

    Returns
    -------
    list of Window
        Windows in order; their targets ``[t_start, t_stop)`` tile ``[0, n_tokens)``.
    """
    if budget < 1 or stride < 1 or stride > budget:
        raise ValueError(
            f"need 1 <= stride <= context budget, got stride={stride}, budget={budget}"
        )
    if n_tokens <= budget:
        return [Window(0, n_tokens, 0, n_tokens)]
    windows = []
    if causal:
        end = budget
        windows.append(Window(0, end, 0, end))
        while end < n_tokens:
            new_end = min(end + stride, n_tokens)
            windows.append(Window(new_end - budget, new_end, end, new_end))
            end = new_end
        return windows
    left = (budget - stride) // 2
    for s in range(0, n_tokens, stride):
        start = min(max(s - left, 0), n_tokens - budget)
        windows.append(Window(start, start + budget, s, min(s + stride, n_tokens)))
    return windows


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """Special token ids the tokenizer adds before and after a text."""
    plain = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello")["input_ids"]
    for i in range(len(full) - len(plain) + 1):
        if full[i : i + len(plain)] == plain:
            return list(full[:i]), list(full[i + len(plain) :])
    return [], []


def tokenize_words(tokenizer, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of a word sequence and the word index of every token.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        The model's tokenizer (words are tokenised without special tokens).
    words : sequence of str
        The words, in order.

    Returns
    -------
    ids : numpy.ndarray of int64, shape (n_tokens,)
    word_of_token : numpy.ndarray of int64, shape (n_tokens,)
    """
    texts = [w if i == 0 else " " + w for i, w in enumerate(words)]
    pieces = tokenizer(texts, add_special_tokens=False)["input_ids"]
    lengths = np.array([len(p) for p in pieces], dtype=np.int64)
    ids = np.fromiter((t for p in pieces for t in p), dtype=np.int64, count=int(lengths.sum()))
    return ids, np.repeat(np.arange(len(words), dtype=np.int64), lengths)


def centre_words(features: np.ndarray) -> np.ndarray:
    """Subtract each column's (neuron's) mean over rows (words), in place, in float64 sums.

    Parameters
    ----------
    features : ndarray, shape (n_words, n_neurons)

    Returns
    -------
    ndarray, shape (n_words, n_neurons)
        The same array, centred; a constant column becomes exactly 0.
    """
    mean = features.mean(axis=0, dtype=np.float64)
    features -= mean.astype(features.dtype)
    constant = (features.max(axis=0) - features.min(axis=0)) == 0
    features[:, constant] = 0
    return features


def zscore_columns(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Z-score each column over rows (ddof 0); constant columns become 0.

    Returns the array (float32) and the number of constant columns.
    """
    mean = values.mean(axis=0, dtype=np.float64)
    std = values.std(axis=0, dtype=np.float64)
    constant = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
    scale = np.where(constant, 1.0, std)
    # float64 arithmetic in blocks of columns: no float64 temporary of the array's size
    out = np.empty(values.shape, dtype=np.float32)
    for start in range(0, values.shape[1], 4096):
        sl = slice(start, start + 4096)
        out[:, sl] = (values[:, sl] - mean[sl]) / scale[sl]
    out[:, constant] = 0.0
    return out, int(constant.sum())


class _Collector:
    """Forward hooks that pool activations into one (rows, neurons) float32 buffer.

    The hooks write straight into column slices of the output buffer, so nothing is copied
    at the end. Token mode (stories): the targets of one window are pooled by
    ``index_add_`` into a small contiguous block covering their (contiguous) range of rows,
    which is then added to the buffer's strided slice in one pass (``index_add_`` into the
    strided slice itself is ~10x slower). Sequence mode (movies): one pooled row per
    sequence is assigned to its row.
    """

    def __init__(self, sites: list[HookSite], n_rows: int):
        import torch

        self.sites = sites
        self.offsets = np.concatenate([[0], np.cumsum([s.width for s in sites])])
        self.n_rows = n_rows
        self.buffer = torch.zeros(n_rows, int(self.offsets[-1]), dtype=torch.float32)
        self.handles: list[Any] = []
        self.mode = "tokens"
        self.positions = None  # tokens mode: positions in the window (targets)
        self._rows = None  # row (word / TR / frame) of each target or sequence
        self._span = (0, 0)  # tokens mode: first and one-past-last row of the targets
        self.masks: dict[str, Any] = {}
        self.hits = np.zeros(len(sites), dtype=np.int64)

    @property
    def rows(self):
        return self._rows

    @rows.setter
    def rows(self, rows) -> None:
        self._rows = rows
        if rows is not None and len(rows):
            lo, hi = int(rows.min()), int(rows.max()) + 1
            self._span = (lo, hi)
            self._local = rows - lo
        else:
            self._span = (0, 0)
            self._local = rows

    def attach(self, module) -> _Collector:
        named = dict(module.named_modules())
        for i, site in enumerate(self.sites):
            self.handles.append(named[site.module_name].register_forward_hook(self._hook(i)))
        return self

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def result(self) -> np.ndarray:
        """The pooled activations, shape (n_rows, n_neurons) (no copy; frees the buffer)."""
        out = self.buffer.numpy()
        self.buffer = None
        return out

    def _hook(self, i: int):
        import torch

        site = self.sites[i]
        pattern = site.pattern
        start, stop = int(self.offsets[i]), int(self.offsets[i + 1])

        def hook(module, args, output):
            act = args[0] if pattern.io == "input" else output
            if isinstance(act, tuple):
                act = act[0]
            if pattern.layout == "lnd":
                act = act.transpose(0, 1)
            self.hits[i] += 1
            if self.mode == "tokens":
                lo, hi = self._span
                if hi == lo:
                    return
                picked = act[0, self.positions].float().cpu()
                block = torch.zeros(hi - lo, picked.shape[1], dtype=torch.float32)
                block.index_add_(0, self._local, picked)
                self.buffer[lo:hi, start:stop] += block
            else:
                act = act.float()
                mask = self.masks.get(pattern.stream)
                if mask is None:
                    pooled = act.mean(dim=1)
                else:
                    weights = mask[:, : act.shape[1], None]
                    pooled = (act * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
                self.buffer[self.rows, start:stop] = pooled.cpu()

        return hook


def _text_forward(loaded: LoadedModel):
    """Callable ``(input_ids, attention_mask) -> None`` running the text part of a model."""
    family = loaded.family.name
    module = loaded.module
    if family == "llama" or (loaded.family.causal and hasattr(module, "model")):
        # decoder-only LMs (Llama, and families added like it): skip the LM head
        base = getattr(module, "model", module)
        return lambda ids, mask: base(input_ids=ids, attention_mask=mask, use_cache=False)
    if family == "clip":
        return lambda ids, mask: module.text_model(input_ids=ids, attention_mask=mask)
    if family in ("bert", "roberta"):
        return lambda ids, mask: module(input_ids=ids, attention_mask=mask)
    raise ValueError(f"{loaded.name}: a {family} model has no text-only forward pass")


def _vision_forward(loaded: LoadedModel):
    family = loaded.family.name
    module = loaded.module
    if family == "clip":
        return lambda pixels: module.vision_model(pixel_values=pixels)
    if family == "vit":
        return lambda pixels: module(pixel_values=pixels)
    raise ValueError(f"{loaded.name}: a {family} model has no vision-only forward pass")


def _progress(iterable, total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=None if enabled else True, leave=False)


# --------------------------------------------------------------------------- stories


def story_word_features(
    loaded: LoadedModel,
    stimulus: StoryStimulus,
    sites: list[HookSite],
    *,
    context: int,
    stride: int,
    word_pooling: str = "mean",
    progress: bool = True,
    lm_scorer=None,
) -> tuple[np.ndarray, dict]:
    """Word-level activations of a story, shape (n_words, n_neurons), float32.

    Returns the array and a dict of bookkeeping (token and window counts). With an
    ``lm_scorer``, the same forward passes also score every target token under the
    model's language-model head (word surprisal without a second pass over the story).

    Parameters
    ----------
    loaded : LoadedModel
        From :func:`analysis_lib.models.load_model`.
    stimulus : StoryStimulus
        The story.
    sites : list of HookSite
        Hook sites whose outputs are recorded (neurons concatenated in this order).
    context : int
        Tokens per forward pass, special tokens included.
    stride : int
        Target tokens per window (:func:`plan_windows`).
    word_pooling : {'mean', 'first', 'last'}
        How a word's token activations are combined.
    progress : bool
        Show a progress bar (in a terminal only).
    lm_scorer : analysis_lib.surprisal.TokenScorer, optional
        Receives the tokens and, after each window, the final hidden state (causal
        language models only; it applies the LM head to the target rows).

    Returns
    -------
    tuple of (numpy.ndarray, dict)
        Activations (n_words, n_neurons), float32, and ``{'n_tokens', 'n_windows', 'context'}``.
    """
    import torch

    if loaded.tokenizer is None:
        raise ValueError(f"{loaded.name}: has no tokenizer; a story needs a text model")
    words = list(stimulus.words["word"])
    ids, word_of = tokenize_words(loaded.tokenizer, words)
    if ids.size == 0:
        raise ValueError(f"{stimulus.name}: the words produce no tokens")
    n_words = len(words)
    counts = np.bincount(word_of, minlength=n_words)
    if (counts == 0).any():
        warnings.warn(
            f"{stimulus.name}: {int((counts == 0).sum())} words produce no token; their "
            "activations are 0",
            UserWarning,
            stacklevel=3,
        )
    prefix, suffix = _special_tokens(loaded.tokenizer)
    n_special = len(prefix) + len(suffix)
    context = min(int(context), loaded.max_positions)
    budget = context - n_special
    stride = min(int(stride), budget)
    windows = plan_windows(ids.size, budget, stride, loaded.family.causal)
    if word_pooling == "mean":
        keep = np.ones(ids.size, dtype=bool)
    elif word_pooling == "first":
        keep = np.r_[True, word_of[1:] != word_of[:-1]]
    elif word_pooling == "last":
        keep = np.r_[word_of[:-1] != word_of[1:], True]
    else:
        raise ValueError(f"word_pooling must be one of {WORD_POOLING}, got {word_pooling!r}")
    forward = _text_forward(loaded)
    if lm_scorer is not None:
        lm_scorer.start(loaded, ids, word_of, len(prefix))
    collector = _Collector(sites, n_words).attach(loaded.module)
    device = loaded.device
    prefix_t = torch.tensor(prefix, dtype=torch.long)
    suffix_t = torch.tensor(suffix, dtype=torch.long)
    try:
        with torch.inference_mode():
            for w in _progress(windows, len(windows), f"{loaded.name} windows", progress):
                content = torch.from_numpy(ids[w.start : w.stop])
                input_ids = torch.cat([prefix_t, content, suffix_t])[None].to(device)
                targets = np.arange(w.t_start, w.t_stop)
                targets = targets[keep[targets]]
                collector.positions = torch.from_numpy(targets - w.start + len(prefix)).to(device)
                collector.rows = torch.from_numpy(word_of[targets])
                out = forward(input_ids, torch.ones_like(input_ids))
                if lm_scorer is not None:
                    lm_scorer.window(out.last_hidden_state[0], w)
    finally:
        collector.detach()
    features = collector.result()
    if word_pooling == "mean":
        features /= np.maximum(counts, 1)[:, None].astype(np.float32)
    info = {"n_tokens": int(ids.size), "n_windows": len(windows), "context": context}
    info |= {"stride": stride}
    return features, info


# --------------------------------------------------------------------------- movies


def _text_rows(loaded: LoadedModel, texts: list[str], batch_size: int):
    """Tokenized unique texts: (unique texts, index of each TR's text)."""
    unique, index = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    return [str(u) for u in unique], index


def _tokenize_batch(tokenizer, texts: list[str], max_length: int):
    import torch

    encoded = [tokenizer(t, truncation=True, max_length=max_length)["input_ids"] for t in texts]
    width = max(1, max(len(e) for e in encoded))
    ids = torch.zeros(len(texts), width, dtype=torch.long)
    mask = torch.zeros(len(texts), width, dtype=torch.long)
    for row, e in enumerate(encoded):
        ids[row, : len(e)] = torch.tensor(e, dtype=torch.long)
        mask[row, : len(e)] = 1
    return ids, mask


def _text_tr_features(
    loaded: LoadedModel,
    texts: list[str],
    sites: list[HookSite],
    *,
    batch_size: int,
    progress: bool,
) -> tuple[np.ndarray, int, int]:
    """Text-branch activations of each TR's text, shape (n_volumes, n_neurons), float32.

    Each distinct text is run once; returns the activations, the number of distinct texts
    and the number of them that gave no token at all (their activations are 0).
    """
    import torch

    unique, index = _text_rows(loaded, texts, batch_size)
    collector = _Collector(sites, len(unique)).attach(loaded.module)
    collector.mode = "sequences"
    forward = _text_forward(loaded)
    batches = range(0, len(unique), batch_size)
    empty_rows = 0
    try:
        with torch.inference_mode():
            for b in _progress(batches, len(batches), f"{loaded.name} text", progress):
                rows = np.arange(b, min(b + batch_size, len(unique)))
                ids, mask = _tokenize_batch(
                    loaded.tokenizer, [unique[r] for r in rows], loaded.max_positions
                )
                empty_rows += int((mask.sum(1) == 0).sum())
                collector.rows = torch.from_numpy(rows)
                collector.masks = {"text": mask.float().to(loaded.device)}
                forward(ids.to(loaded.device), mask.to(loaded.device))
    finally:
        collector.detach()
    return collector.result()[index], len(unique), empty_rows


def text_event_features(
    loaded: LoadedModel,
    stimulus,
    sites: list[HookSite],
    *,
    batch_size: int = 32,
    progress: bool = True,
) -> tuple[np.ndarray, dict, list[HookSite]]:
    """Per-TR activations of a text-only event stimulus (no frames), float32.

    Parameters
    ----------
    loaded : LoadedModel
    stimulus : object with ``texts`` (list of str, one per volume), ``name``, ``kind == "events"``
        E.g. :class:`analysis_lib.datasets.partly_cloudy.EventStimulus` (the annotated
        events of a film, as text).
    sites : list of HookSite
        Hook sites; only those of the text branch are kept (a two-tower model's vision
        tower and a cross-modal model need frames the stimulus does not have).
    batch_size : int
    progress : bool

    Returns
    -------
    features : numpy.ndarray, shape (n_volumes, n_text_neurons)
    info : dict
        ``n_texts`` (distinct TR texts), ``branches`` kept.
    sites : list of HookSite
        The text-branch sites the columns belong to.

    Raises
    ------
    ValueError
        When the model has no text branch, or is cross-modal (BridgeTower needs frames).
    """
    if loaded.family.name == "bridgetower":
        raise ValueError(
            f"{stimulus.name}: {loaded.name} is cross-modal and needs frames; this stimulus "
            "is text only (events without frames)"
        )
    kept = [s for s in sites if s.pattern.branch == "text"]
    if not kept:
        raise ValueError(
            f"{stimulus.name}: {loaded.name} has no text branch; this stimulus is text only "
            "(events without frames)"
        )
    texts = list(stimulus.texts)
    if not any(texts):
        raise ValueError(f"{stimulus.name}: has no event text for the text model {loaded.name}")
    features, n_texts, empty = _text_tr_features(
        loaded, texts, kept, batch_size=batch_size, progress=progress
    )
    if empty:
        warnings.warn(
            f"{stimulus.name}: {empty} distinct TR texts produce no token (no special "
            "tokens either); their text activations are 0",
            UserWarning,
            stacklevel=3,
        )
    return features, {"n_texts": n_texts, "branches": ["text"]}, kept


def movie_tr_features(
    loaded: LoadedModel,
    stimulus: MovieStimulus,
    sites: list[HookSite],
    *,
    batch_size: int = 32,
    progress: bool = True,
) -> tuple[np.ndarray, dict]:
    """Per-TR activations of a movie, shape (n_volumes, n_neurons), float32.

    Parameters
    ----------
    loaded : LoadedModel
        From :func:`analysis_lib.models.load_model`.
    stimulus : MovieStimulus
        The movie.
    sites : list of HookSite
        Hook sites whose outputs are recorded.
    batch_size : int
        Inputs per forward pass.
    progress : bool
        Show a progress bar (in a terminal only).

    Returns
    -------
    tuple of (numpy.ndarray, dict)
        Activations (n_volumes, n_neurons), float32, and bookkeeping counts (frames, texts,
        sequences).
    """
    import torch

    family = loaded.family
    n_vol, per_tr = stimulus.n_volumes, stimulus.frames_per_tr
    texts = stimulus.texts
    out = np.zeros((n_vol, int(sum(s.width for s in sites))), dtype=np.float32)
    offsets = np.concatenate([[0], np.cumsum([s.width for s in sites])])
    by_branch: dict[str, list[int]] = {}
    for i, s in enumerate(sites):
        by_branch.setdefault(s.pattern.branch, []).append(i)
    info: dict[str, Any] = {"frames_per_tr": per_tr}
    device = loaded.device
    max_len = loaded.max_positions
    empty_rows = 0

    def columns(idx: list[int]) -> np.ndarray:
        return np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in idx])

    if family.name == "bridgetower":
        collector = _Collector(sites, stimulus.frames.shape[0]).attach(loaded.module)
        collector.mode = "sequences"
        frame_text = [texts[i // per_tr] for i in range(stimulus.frames.shape[0])]
        batches = range(0, len(frame_text), batch_size)
        try:
            with torch.inference_mode():
                for b in _progress(batches, len(batches), f"{loaded.name} pairs", progress):
                    rows = np.arange(b, min(b + batch_size, len(frame_text)))
                    ids, mask = _tokenize_batch(
                        loaded.tokenizer, [frame_text[r] for r in rows], max_len
                    )
                    pixels = loaded.image_processor(np.asarray(stimulus.frames[rows]))
                    collector.rows = torch.from_numpy(rows)
                    collector.masks = {"text": mask.float().to(device)}
                    loaded.module(
                        input_ids=ids.to(device),
                        attention_mask=mask.to(device),
                        pixel_values=pixels.to(device),
                    )
        finally:
            collector.detach()
        per_frame = collector.result()
        out[:] = per_frame.reshape(n_vol, per_tr, -1).mean(axis=1)
        info["n_sequences"] = len(frame_text)
        return out, info

    if "text" in by_branch:
        idx = by_branch["text"]
        out[:, columns(idx)], n_texts, empty_rows = _text_tr_features(
            loaded, texts, [sites[i] for i in idx], batch_size=batch_size, progress=progress
        )
        info["n_texts"] = n_texts
    if "vision" in by_branch:
        idx = by_branch["vision"]
        n_frames = stimulus.frames.shape[0]
        collector = _Collector([sites[i] for i in idx], n_frames).attach(loaded.module)
        collector.mode = "sequences"
        forward = _vision_forward(loaded)
        batches = range(0, n_frames, batch_size)
        try:
            with torch.inference_mode():
                for b in _progress(batches, len(batches), f"{loaded.name} frames", progress):
                    rows = np.arange(b, min(b + batch_size, n_frames))
                    pixels = loaded.image_processor(np.asarray(stimulus.frames[rows]))
                    collector.rows = torch.from_numpy(rows)
                    collector.masks = {}
                    forward(pixels.to(device))
        finally:
            collector.detach()
        per_frame = collector.result()
        out[:, columns(idx)] = per_frame.reshape(n_vol, per_tr, -1).mean(axis=1)
        info["n_frames"] = n_frames
    if empty_rows:
        warnings.warn(
            f"{stimulus.name}: {empty_rows} distinct TR texts produce no token (no special "
            "tokens either); their text activations are 0",
            UserWarning,
            stacklevel=3,
        )
    return out, info


# --------------------------------------------------------------------------- extract


def _neuron_coords(sites: list[HookSite], site: str) -> dict[str, Any]:
    layer, unit, branch = [], [], []
    for s in sites:
        layer.append(np.full(s.width, s.layer, dtype=np.int64))
        unit.append(np.arange(s.width, dtype=np.int64) + s.pattern.unit_offset * s.width)
        branch.append(np.full(s.width, s.pattern.branch, dtype=object))
    n = int(sum(s.width for s in sites))
    return {
        "neuron": ("neuron", np.arange(n, dtype=np.int64)),
        "layer": ("neuron", np.concatenate(layer)),
        "unit": ("neuron", np.concatenate(unit)),
        "site": ("neuron", np.full(n, site, dtype=object).astype(str)),
        "branch": ("neuron", np.concatenate(branch).astype(str)),
    }


def extract(
    model: str | LoadedModel,
    stimulus: str | StoryStimulus | MovieStimulus,
    site: str | None = None,
    device: str = "cpu",
    *,
    family: str | None = None,
    context: int = DEFAULT_CONTEXT,
    stride: int | None = None,
    word_pooling: str = "mean",
    hrf: str = "spm",
    oversampling: int = 50,
    zscore: bool = True,
    centre: bool = True,
    batch_size: int = 32,
    seed: int = 0,
    stimulus_kwargs: dict | None = None,
    progress: bool = True,
    allow_unsafe_weights: bool = False,
    lm_scorer=None,
) -> xr.DataArray:
    """Temporal responses of a model's artificial neurons to a stimulus, on the fMRI clock.

    Parameters
    ----------
    model : str or LoadedModel
        Registered name (``python -m analysis_lib models``), local folder or hub id (with
        ``family``), or an already loaded model.
    stimulus : str or stimulus
        Name (``default-story``, ``alice``, ``default-movie``, ``partly-cloudy``), path, or a
        stimulus object (story, movie, or text events).
    site : str, optional
        ``ffn_out``, ``ffn_hidden``, ``attn_out`` or ``cross_attn_out``; default the
        family's default site (``ffn_out`` for BERT/Llama, ``attn_out`` otherwise).
    device : str
        Torch device.
    family : str, optional
        Architecture family for folders and hub ids.
    context : int
        Tokens per forward pass for stories (capped by the model's maximum).
    stride : int, optional
        New target tokens per window (default ``context // 2``).
    word_pooling : {"mean", "first", "last"}
        How sub-word activations become word activations.
    hrf : {"spm", "glover", "none"}
        HRF model (:mod:`analysis_lib.hrf`).
    oversampling : int
        Fine-grid points per TR for the convolution.
    zscore : bool
        Z-score every neuron over time.
    centre : bool
        Stories: subtract each neuron's mean word activation before the HRF convolution, so
        a constant neuron contributes nothing and word timing does not leak into every
        neuron. Movies (TR events tile the run) are not affected.
    batch_size : int
        Sequences per forward pass for movies.
    seed : int
        Seed of tiny models' random weights.
    stimulus_kwargs : dict, optional
        Passed to :func:`analysis_lib.stimuli.load_stimulus` (e.g. ``tr``, ``n_volumes``).
    progress : bool
        Show progress bars.
    allow_unsafe_weights : bool
        Accept pickled weights in a local folder (only if you trust its source).
    lm_scorer : analysis_lib.surprisal.TokenScorer, optional
        Stories and causal language models: also score every token under the LM head in
        the same forward passes (:func:`analysis_lib.surprisal.cached_story_pass`). The
        responses do not depend on it.

    Returns
    -------
    xarray.DataArray
        ``responses`` with dims ``(time, neuron)``: ``time`` the volume times (s); per-neuron
        coords ``layer`` (int), ``unit`` (int), ``site`` (str), ``branch`` (``text``,
        ``vision`` or ``cross``); attrs ``model``, ``weights_sha256``, ``stimulus``,
        ``stimulus_sha256``, ``tr``, ``hrf``, ``analysis_lib_version``, ``params`` (JSON).

    Raises
    ------
    ValueError
        Unknown model, stimulus or site (messages list the valid ones); a stimulus the
        model cannot see (e.g. a story for a vision model); bad parameters.
    """
    import torch

    if hrf not in HRF_MODELS:
        raise ValueError(f"unknown hrf {hrf!r}; valid: {', '.join(HRF_MODELS)}")
    if word_pooling not in WORD_POOLING:
        raise ValueError(f"word_pooling must be one of {WORD_POOLING}, got {word_pooling!r}")
    if site is not None and site not in SITES:
        raise ValueError(f"unknown site {site!r}; valid: {', '.join(SITES)}")
    stim = load_stimulus(stimulus, **(stimulus_kwargs or {}))
    loaded = (
        model
        if isinstance(model, LoadedModel)
        else load_model(
            model,
            family=family,
            device=device,
            seed=seed,
            allow_unsafe_weights=allow_unsafe_weights,
        )
    )
    if loaded.device != device:
        loaded.module.to(device)
        loaded.device = device
    site = site or loaded.family.default_site
    sites = find_sites(loaded, site)
    stride = int(stride if stride is not None else context // 2)
    if context < 8 or stride < 1:
        raise ValueError(f"context must be >= 8 and stride >= 1, got {context}, {stride}")
    torch_threads = torch.get_num_threads()

    if isinstance(stim, StoryStimulus):
        if loaded.family.modalities != ("text",):
            raise ValueError(
                f"{loaded.name} is a {loaded.family.name} model ({', '.join(loaded.family.modalities)}); "
                f"the story {stim.name!r} has no frames. Use a movie stimulus, or a text model."
            )
        features, info = story_word_features(
            loaded,
            stim,
            sites,
            context=context,
            stride=stride,
            word_pooling=word_pooling,
            progress=progress,
            lm_scorer=lm_scorer,
        )
        if centre:
            features = centre_words(features)
        info["centre"] = bool(centre)
        onsets = stim.words["onset"].to_numpy(float)
        durations = (stim.words["offset"] - stim.words["onset"]).to_numpy(float)
    elif lm_scorer is not None:
        raise ValueError(f"{stim.name}: token scores need a story stimulus")
    elif getattr(stim, "kind", "") == "events":
        features, info, sites = text_event_features(
            loaded, stim, sites, batch_size=batch_size, progress=progress
        )
        onsets = stim.volume_times
        durations = np.full(stim.n_volumes, stim.tr)
    else:
        if "vision" not in loaded.family.modalities and not any(stim.texts):
            raise ValueError(f"{stim.name}: has no captions for the text model {loaded.name}")
        features, info = movie_tr_features(
            loaded, stim, sites, batch_size=batch_size, progress=progress
        )
        onsets = stim.volume_times
        durations = np.full(stim.n_volumes, stim.tr)
    weights = design_matrix(
        onsets, durations, stim.volume_times, hrf=hrf, oversampling=oversampling
    ).astype(np.float32)
    responses = weights @ features
    del features
    n_constant = 0
    if zscore:
        responses, n_constant = zscore_columns(responses)
    params = {
        "site": site,
        "device": device,
        "family": loaded.family.name,
        "word_pooling": word_pooling,
        "hrf": hrf,
        "oversampling": oversampling,
        "zscore": zscore,
        "batch_size": batch_size,
        "seed": seed,
        "torch_threads": torch_threads,
        **info,
    }
    if isinstance(stim, StoryStimulus):
        params["requested_context"] = context
    attrs = {
        "long_name": f"{site} artificial-neuron responses (HRF {hrf})",
        "units": "z" if zscore else "activation",
        "model": loaded.name,
        "weights_sha256": loaded.weights_sha256,
        "stimulus": stim.name,
        "stimulus_sha256": stim.sha256,
        "tr": float(stim.tr),
        "t0": float(stim.t0),
        "hrf": hrf,
        "n_constant_neurons": n_constant,
        **provenance(params),
    }
    assert attrs["analysis_lib_version"] == __version__
    coords = _neuron_coords(sites, site)
    coords["time"] = ("time", stim.volume_times.astype(np.float64), {"units": "s"})
    out = xr.DataArray(
        responses, dims=("time", "neuron"), coords=coords, name="responses", attrs=attrs
    )
    out["time"].attrs.update({"units": "s", "long_name": "volume acquisition time"})
    out["layer"].attrs["long_name"] = "layer (block) index, 0-based"
    out["unit"].attrs["long_name"] = "unit index within the module output"
    if n_constant:
        warnings.warn(
            f"{loaded.name}/{site}: {n_constant} neurons are constant over {stim.name}; "
            "their z-scores are set to 0",
            UserWarning,
            stacklevel=2,
        )
    return out


def params_of(responses: xr.DataArray) -> dict:
    """The extraction parameters stored in ``responses.attrs["params"]``."""
    return json.loads(responses.attrs["params"])


def _weights_key(model: str, family: str | None, seed: int) -> str:
    """A digest of a model's weights computed without loading (or training) the model.

    Tiny models: their name and seed (the weights are a function of the config and the
    seed). Trained models: the SHA-256 of the cached ``model.safetensors`` when it exists,
    else ``trained-recipe:`` + :meth:`analysis_lib.training.TrainingParams.digest` (the
    training parameters, seed, tiny config and recipe version that decide the weights).
    Others: the SHA-256 of the weight files found by the public locators of
    :mod:`analysis_lib.models.weights`.
    """
    from . import training
    from .models import REGISTRY, files_sha256, hub_folder, weight_files, weights_location

    key = str(model)
    if key in REGISTRY:
        spec = REGISTRY[key]
        if spec.kind == "tiny":
            return f"tiny:{key}:seed={seed}:{__version__}"
        if spec.kind == "split-gguf":  # pinned SHA-256 of the verified GGUF
            from .weights.gguf_parts import SPLIT_GGUFS

            return SPLIT_GGUFS[key].sha256
        if spec.kind == "trained":
            weights = training.cache_folder(key) / "model.safetensors"
            if weights.is_file():
                return files_sha256([weights])
            return f"trained-recipe:{key}:{training.TrainingParams().digest(key)}"
        location = weights_location(spec)
        if location is not None and location.is_file():  # a single GGUF file (smollm2)
            return files_sha256([location])
        folder = location
    else:
        folder = Path(key).expanduser()
        if not folder.is_dir():
            folder = hub_folder(key)
    if folder is None or not Path(folder).is_dir():
        raise FileNotFoundError(f"{key}: weights not found; see `python -m analysis_lib models`")
    return files_sha256(weight_files(folder, allow_unsafe=True))


def cached_extract(
    model: str,
    stimulus: str | StoryStimulus | MovieStimulus,
    site: str | None = None,
    device: str = "cpu",
    **kwargs,
) -> xr.DataArray:
    """:func:`extract` with a disk cache in ``$ANALYSIS_LIB_DATA/cache/extraction``.

    The cache key covers the weight files' SHA-256 (or the tiny model's name and seed),
    the stimulus digest, the site, every keyword argument, the package version and the
    digest of the library code extraction imports (:mod:`analysis_lib.codehash`), so a
    change in any of them recomputes. ``model`` must be a name, folder or hub id.

    Parameters
    ----------
    model : str
        Registered name, local folder or hub id.
    stimulus : str, StoryStimulus or MovieStimulus
        A stimulus name or object (``stimulus_kwargs`` in ``kwargs`` are passed to
        :func:`analysis_lib.stimuli.load_stimulus`).
    site : str, optional
        Hook site (default: the family's).
    device : str
        Torch device.
    **kwargs
        Further arguments of :func:`extract`. An ``lm_scorer`` is fed only when the
        responses are computed (not on a cache hit; see its ``done``).

    Returns
    -------
    xarray.DataArray (time, neuron)
        The responses, read from the cache or computed and cached.
    """
    from .codehash import code_digest
    from .io import read_cache, read_netcdf, write_netcdf
    from .paths import data_home

    stim = load_stimulus(stimulus, **(kwargs.pop("stimulus_kwargs", None) or {}))
    lm_scorer = kwargs.pop("lm_scorer", None)
    # The key holds every setting with its default filled in, so that equivalent calls
    # (``context=512`` given or not) share one entry.
    settings = {**_EXTRACT_DEFAULTS, **kwargs}
    if settings["stride"] is None:
        settings["stride"] = int(settings["context"]) // 2
    payload = {
        "model": str(model),
        "weights": _weights_key(model, settings["family"], settings["seed"]),
        "stimulus": stim.sha256,
        "site": site,
        "kwargs": {k: v for k, v in sorted(settings.items()) if k != "progress"},
        "version": __version__,
        "code": code_digest([__name__]),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    path = data_home() / "cache" / "extraction" / f"{digest[:32]}.nc"
    cached = read_cache(path, variable="responses")  # an unreadable one is recomputed
    if cached is not None:
        return cached
    responses = extract(model, stim, site=site, device=device, lm_scorer=lm_scorer, **kwargs)
    write_netcdf(responses, path)
    return read_netcdf(path, variable="responses")


def _keyword_defaults(fn) -> dict[str, Any]:
    import inspect

    return {
        name: p.default
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


_EXTRACT_DEFAULTS = {
    k: v
    for k, v in _keyword_defaults(extract).items()
    if k not in ("progress", "lm_scorer", "stimulus_kwargs")
}
