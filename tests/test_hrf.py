"""HRF convolution against nilearn's compute_regressor and on known signals."""

from __future__ import annotations

import numpy as np
import pytest
from nilearn.glm.first_level import compute_regressor

from analysis_lib import hrf


@pytest.mark.parametrize("model", ["spm", "glover"])
@pytest.mark.parametrize(("tr", "oversampling"), [(1.5, 50), (2.0, 16), (1.0, 10)])
def test_matches_nilearn_compute_regressor(rng, model, tr, oversampling):
    n = 80
    frame_times = tr * np.arange(n)
    onsets = np.sort(rng.uniform(0, tr * (n - 20), 25))
    durations = rng.uniform(0, 2.0, 25)
    durations[:4] = 0.0
    amplitudes = rng.normal(size=25)
    ref, _ = compute_regressor(
        np.vstack([onsets, durations, amplitudes]), model, frame_times, oversampling=oversampling
    )
    ours = hrf.convolve(
        onsets, amplitudes, frame_times, durations=durations, hrf=model, oversampling=oversampling
    )
    np.testing.assert_allclose(ours, ref[:, 0], atol=1e-12)


def test_shift_invariance_and_multi_feature(rng):
    """A stimulus clock offset (t0 = 20 s, as in Alice) shifts nothing else."""
    frame_times = 2.0 * np.arange(50)
    onsets = np.sort(rng.uniform(0, 80, 40))
    durations = rng.uniform(0.1, 0.6, 40)
    values = rng.normal(size=(40, 3))
    a = hrf.convolve(onsets, values, frame_times, durations=durations)
    b = hrf.convolve(onsets + 20.0, values, frame_times + 20.0, durations=durations)
    np.testing.assert_allclose(a, b, atol=1e-12)
    for j in range(3):
        col = hrf.convolve(onsets, values[:, j], frame_times, durations=durations)
        np.testing.assert_allclose(a[:, j], col, atol=1e-12)
    assert a.dtype == np.float64
    assert hrf.convolve(onsets, values.astype("float32"), frame_times).dtype == np.float32


def test_sustained_boxcar_plateaus_at_amplitude_and_peaks_late():
    frame_times = 1.0 * np.arange(120)
    plateau = hrf.convolve([10.0], [2.5], frame_times, durations=[80.0])
    assert plateau[60] == pytest.approx(2.5, rel=1e-3)
    assert np.all(np.abs(plateau[:10]) < 1e-12)  # causal: nothing before the onset
    impulse = hrf.convolve([10.0], [1.0], frame_times, durations=[1.0])
    assert 14 <= int(np.argmax(impulse)) <= 17  # SPM peak ~5-6 s after the onset
    glover = hrf.convolve([10.0], [1.0], frame_times, durations=[1.0], hrf="glover")
    assert not np.allclose(glover, impulse)


def test_events_before_the_grid_keep_their_tail():
    frame_times = 20.0 + 2.0 * np.arange(30)
    early = hrf.convolve([15.0], [1.0], frame_times, durations=[2.0])
    assert early[0] > 0.1  # response at t = 20 s to an event at 15 s


def test_none_is_the_sampled_boxcar():
    frame_times = 1.0 * np.arange(10)
    out = hrf.convolve([2.0], [3.0], frame_times, durations=[3.0], hrf="none", oversampling=4)
    np.testing.assert_allclose(out, [0, 0, 3, 3, 3, 0, 0, 0, 0, 0])


def test_bad_input():
    with pytest.raises(ValueError, match="unknown hrf 'boynton'"):
        hrf.convolve([1.0], [1.0], np.arange(5.0), hrf="boynton")
    with pytest.raises(ValueError, match="strictly increasing"):
        hrf.convolve([1.0], [1.0], np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="rows"):
        hrf.convolve([1.0, 2.0], [1.0], np.arange(5.0))
    with pytest.raises(ValueError, match=">= 0"):
        hrf.convolve([1.0], [1.0], np.arange(5.0), durations=[-1.0])
