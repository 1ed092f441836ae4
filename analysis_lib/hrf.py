"""Haemodynamic response convolution on a fine grid, sampled at volume times.

Events (word or frame features) are boxcars from ``onset`` to ``onset + duration`` with
amplitude ``value``. They are placed on a fine time grid of step ``dt = tr / oversampling``
anchored at the first volume time, convolved with an HRF kernel from nilearn
(:func:`nilearn.glm.first_level.spm_hrf` or :func:`~nilearn.glm.first_level.glover_hrf`,
normalised to unit sum, so a sustained boxcar of amplitude 1 plateaus at 1), and sampled
at the volume times by linear interpolation. This is the computation of nilearn's
:func:`~nilearn.glm.first_level.compute_regressor` (tests check they agree), done for many
features at once: the operation is linear in the amplitudes, so it is written as one
``(n_volumes, n_events)`` matrix :func:`design_matrix` applied to an
``(n_events, n_features)`` array.

Unlike ``compute_regressor``, events that start before the grid are not truncated: the
step response is evaluated analytically for any onset, so their tails are kept. An onset
that falls exactly on a grid point starts there (within 1e-9 grid steps); nilearn's
result in that case depends on the rounding of its ``linspace`` grid and may start one
step later.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from nilearn.glm.first_level import glover_hrf, spm_hrf

HRF_MODELS = ("spm", "glover", "none")
HRFName = Literal["spm", "glover", "none"]


def _tr_of(volume_times: np.ndarray) -> float:
    if volume_times.ndim != 1 or volume_times.size < 2:
        raise ValueError("volume_times must be a 1-D array with at least 2 volumes")
    steps = np.diff(volume_times)
    if np.any(steps <= 0):
        raise ValueError("volume_times must be strictly increasing")
    return float(steps.min())


def hrf_kernel(
    hrf: HRFName = "spm", tr: float = 2.0, oversampling: int = 50, time_length: float = 32.0
) -> np.ndarray:
    """Return the HRF kernel sampled every ``tr / oversampling`` seconds.

    Parameters
    ----------
    hrf : {"spm", "glover", "none"}
        SPM canonical (default) or Glover HRF from nilearn; "none" is a unit impulse
        (no convolution).
    tr : float
        Repetition time in seconds.
    oversampling : int
        Grid points per TR.
    time_length : float
        Kernel length in seconds.

    Returns
    -------
    numpy.ndarray, shape (n_samples,)
        Kernel values summing to 1.
    """
    if hrf == "spm":
        return spm_hrf(tr, oversampling, time_length)
    if hrf == "glover":
        return glover_hrf(tr, oversampling, time_length)
    if hrf == "none":
        return np.ones(1)
    raise ValueError(f"unknown hrf {hrf!r}; valid: {', '.join(HRF_MODELS)}")


def design_matrix(
    onsets: np.ndarray,
    durations: np.ndarray,
    volume_times: np.ndarray,
    *,
    hrf: HRFName = "spm",
    oversampling: int = 50,
    time_length: float = 32.0,
) -> np.ndarray:
    """Linear map from event amplitudes to HRF-convolved responses at volume times.

    Parameters
    ----------
    onsets, durations : array, shape (n_events,)
        Event onsets and durations in seconds (durations >= 0; a zero duration lasts one
        grid step, as in nilearn).
    volume_times : array, shape (n_volumes,)
        Acquisition times in seconds, strictly increasing.
    hrf, oversampling, time_length
        See :func:`hrf_kernel`; the grid step is ``min(diff(volume_times)) / oversampling``.

    Returns
    -------
    numpy.ndarray, shape (n_volumes, n_events), float64
        ``W`` such that ``W @ values`` is the response to events with amplitudes ``values``.
    """
    onsets = np.asarray(onsets, dtype=float)
    durations = np.asarray(durations, dtype=float)
    volume_times = np.asarray(volume_times, dtype=float)
    if onsets.shape != durations.shape or onsets.ndim != 1:
        raise ValueError("onsets and durations must be 1-D arrays of the same length")
    if not (np.all(np.isfinite(onsets)) and np.all(np.isfinite(durations))):
        raise ValueError("onsets and durations must be finite")
    if np.any(durations < 0):
        raise ValueError("durations must be >= 0")
    tr = _tr_of(volume_times)
    oversampling = int(oversampling)
    if oversampling < 1:
        raise ValueError("oversampling must be >= 1")
    dt = tr / oversampling
    kernel = hrf_kernel(hrf, tr, oversampling, time_length)
    # step response S(m) = sum_{j<=m} h[j]; S(m) = 0 for m < 0, = sum(h) beyond the kernel
    step = np.concatenate([[0.0], np.cumsum(kernel)])

    def step_at(m: np.ndarray) -> np.ndarray:
        return step[np.clip(m + 1, 0, step.size - 1)]

    origin = volume_times[0]
    eps = 1e-9
    # grid index of the first grid point at or after onset/offset (nilearn: searchsorted)
    i_on = np.ceil((onsets - origin) / dt - eps).astype(np.int64)
    i_off = np.ceil((onsets + durations - origin) / dt - eps).astype(np.int64)
    i_off = np.where(i_off == i_on, i_on + 1, i_off)
    position = (volume_times - origin) / dt
    k0 = np.floor(position + eps).astype(np.int64)
    frac = np.clip(position - k0, 0.0, 1.0)[:, None]
    k0 = k0[:, None]

    def response(k: np.ndarray) -> np.ndarray:
        return step_at(k - i_on[None, :]) - step_at(k - i_off[None, :])

    return (1.0 - frac) * response(k0) + frac * response(k0 + 1)


def convolve(
    onsets: np.ndarray,
    values: np.ndarray,
    volume_times: np.ndarray,
    *,
    durations: np.ndarray | None = None,
    hrf: HRFName = "spm",
    oversampling: int = 50,
    time_length: float = 32.0,
) -> np.ndarray:
    """Convolve event amplitudes with an HRF and sample them at the volume times.

    Parameters
    ----------
    onsets : array, shape (n_events,)
        Event onsets in seconds.
    values : array, shape (n_events,) or (n_events, n_features)
        Event amplitudes (one column per feature, e.g. per artificial neuron).
    volume_times : array, shape (n_volumes,)
        Acquisition times in seconds.
    durations : array, shape (n_events,), optional
        Event durations in seconds (default 0: impulses one grid step long).
    hrf, oversampling, time_length
        See :func:`design_matrix`.

    Returns
    -------
    numpy.ndarray, shape (n_volumes,) or (n_volumes, n_features)
        float64 for float64 input, float32 otherwise.
    """
    onsets = np.asarray(onsets, dtype=float)
    values = np.asarray(values)
    if values.shape[:1] != onsets.shape:
        raise ValueError(
            f"values has {values.shape[0] if values.ndim else 0} rows but there are "
            f"{onsets.size} onsets"
        )
    if durations is None:
        durations = np.zeros_like(onsets)
    weights = design_matrix(
        onsets,
        np.asarray(durations, dtype=float),
        volume_times,
        hrf=hrf,
        oversampling=oversampling,
        time_length=time_length,
    )
    dtype = np.float64 if values.dtype == np.float64 else np.float32
    return weights.astype(dtype) @ values.astype(dtype, copy=False)
