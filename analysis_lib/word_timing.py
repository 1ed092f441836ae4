"""Word-timing regressors of a story and the timing leak of neuron responses.

A language model's features can predict a listener's brain just because words arrive at
some times and not others. These regressors are what word timing alone gives, on the same
clock and HRF as :func:`analysis_lib.extraction.extract`:

``rate``
    every word an event of amplitude 1 (the convolved word train);
``length``
    amplitude = number of letters, centred over words;
``syllables``
    amplitude = number of syllables (hyphenation points of pyphen's ``en_US`` dictionary + 1,
    an approximation), centred over words.

The centred amplitudes make ``length`` and ``syllables`` what they add to the word rate
(not a scaled copy of it). :func:`timing_leak` measures how much of each neuron's response
is the word rate (for the before/after comparison of the extraction's centring).
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

from .hrf import design_matrix
from .stimuli import StoryStimulus, load_stimulus

TIMING_FEATURES = ("rate", "length", "syllables")


def _words(stimulus: StoryStimulus) -> list[str]:
    return [str(w) for w in stimulus.words["word"]]


def syllable_counts(words: list[str]) -> np.ndarray:
    """Approximate syllables per word (pyphen ``en_US`` hyphenation points + 1; 0 if no letter)."""
    import pyphen

    dic = pyphen.Pyphen(lang="en_US")
    out = np.zeros(len(words))
    for i, word in enumerate(words):
        parts = [p for p in re.split(r"[^A-Za-z']+", word) if re.search("[A-Za-z]", p)]
        out[i] = sum(len(dic.positions(p)) + 1 for p in parts)
    return out


def word_weights(stimulus: StoryStimulus, hrf: str = "spm", oversampling: int = 50) -> np.ndarray:
    """HRF map from word amplitudes to volumes (as in extraction).

    Parameters
    ----------
    stimulus : StoryStimulus
        The story (word onsets, scan clock).
    hrf : str, default "spm"
        HRF model.
    oversampling : int, default 50
        Time samples per TR of the convolution.

    Returns
    -------
    ndarray, shape (n_volumes, n_words)
        Column ``w`` is word ``w``'s HRF response sampled at the volumes.
    """
    onsets = stimulus.words["onset"].to_numpy(float)
    durations = (stimulus.words["offset"] - stimulus.words["onset"]).to_numpy(float)
    return design_matrix(
        onsets, durations, stimulus.volume_times, hrf=hrf, oversampling=oversampling
    )


def timing_features(
    stimulus: str | StoryStimulus,
    features: tuple[str, ...] | list[str] = TIMING_FEATURES,
    *,
    hrf: str = "spm",
    oversampling: int = 50,
) -> xr.DataArray:
    """Word-timing regressors at the volume times.

    Parameters
    ----------
    stimulus : str or StoryStimulus
    features : sequence of {"rate", "length", "syllables"}
    hrf, oversampling
        As in :func:`analysis_lib.extraction.extract`.

    Returns
    -------
    xarray.DataArray, dims (time, feature)
        Not standardised (the encoding model standardises its inputs).
    """
    stim = load_stimulus(stimulus)
    if not isinstance(stim, StoryStimulus):
        raise ValueError(f"{stim.name}: word-timing features need a story stimulus")
    unknown = [f for f in features if f not in TIMING_FEATURES]
    if unknown:
        raise ValueError(f"unknown timing feature {unknown[0]!r}; valid: {TIMING_FEATURES}")
    words = _words(stim)
    amps = {
        "rate": np.ones(len(words)),
        "length": np.array([len(re.sub(r"[^A-Za-z]", "", w)) for w in words], float),
    }
    if "syllables" in features:
        amps["syllables"] = syllable_counts(words)
    cols = []
    for f in features:
        a = amps[f]
        cols.append(a if f == "rate" else a - a.mean())
    values = word_weights(stim, hrf, oversampling) @ np.column_stack(cols)
    return xr.DataArray(
        values,
        dims=("time", "feature"),
        coords={"time": stim.volume_times.astype(float), "feature": list(features)},
        name="timing",
        attrs={"long_name": "word-timing regressors (HRF-convolved word events)", "hrf": hrf},
    )


def timing_leak(responses: xr.DataArray, stimulus: str | StoryStimulus) -> xr.DataArray:
    """Absolute correlation of each neuron's response with the convolved word rate.

    Parameters
    ----------
    responses : xarray.DataArray, dims (time, neuron)
        From :func:`analysis_lib.extraction.extract` on ``stimulus``.
    stimulus : str or StoryStimulus

    Returns
    -------
    xarray.DataArray, dims (neuron,)
        ``|r|`` (NaN for constant neurons); its median summarises the leak.
    """
    hrf = responses.attrs.get("hrf", "spm")
    rate = timing_features(stimulus, ("rate",), hrf=hrf).values[:, 0]
    x = responses.transpose("time", "neuron").values.astype(float)
    if x.shape[0] != rate.size:
        raise ValueError(
            f"responses have {x.shape[0]} volumes, the stimulus {rate.size}; not the same story"
        )
    xc = x - x.mean(axis=0)
    rc = rate - rate.mean()
    sd = np.sqrt((xc**2).sum(axis=0) * (rc**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(sd > 0, (rc @ xc) / sd, np.nan)
    return xr.DataArray(
        np.abs(r),
        dims=("neuron",),
        coords={k: v for k, v in responses.coords.items() if v.dims == ("neuron",)},
        name="timing_leak",
        attrs={"long_name": "|correlation| with the HRF-convolved word rate"},
    )
