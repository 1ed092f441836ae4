"""Inter-subject correlation (ISC) of regional time series, with a null and intervals.

Two conventions:

``pairwise``
    Pearson r of every pair of subjects, summarised over the ``S (S - 1) / 2`` pairs by
    the median (nltools' :func:`nltools.stats.isc` default, after Chen et al., 2016) or by
    the mean of Fisher z, back-transformed (``tanh(mean(arctanh r))``, as nltools).
``loo``
    Leave one out: each subject against the mean of the others, summarised over subjects
    (median, or Fisher mean as :func:`brainiak.isc.isc` with ``summary_statistic``). Every
    series is z-scored first, so each subject weighs the same in the mean of the others
    (brainiak averages the raw series; the two agree for z-scored input such as the
    Partly Cloudy files).

Null: every subject's time series is circularly shifted by its own random lag (at least
``min_shift`` volumes from zero) or phase-randomised (random phases per subject, the same
for all regions, so spatial structure and each series' power spectrum are kept), and the
summary is recomputed. One-sided p = (1 + #{null >= observed}) / (1 + n_perm); q values
by Benjamini-Hochberg over regions. The same null draws give the null of each network
mean, so network p values need no extra assumption.

Intervals: percentile bootstrap over subjects (Chen et al., 2016): subjects are resampled
with replacement and pairs of a subject with itself are dropped (nltools'
``exclude_self_corr``); for ``loo`` the per-subject values are resampled.

Cost: ``pairwise`` builds all pair correlations, ``R S^2 T`` per null draw; with more than
``null_max_subjects`` subjects each null draw uses a random subset of that many subjects,
whose null is at least as wide as the full sample's (conservative p), so the null costs
the same for any number of subjects (without subsets, the null reads every pair's
correlation at every circular lag from one FFT per series, computed once). The
bootstrap resamples the pair correlations, so it stays quadratic in subjects. ``loo`` is
linear in subjects.
"""

from __future__ import annotations

import numpy as np

SUMMARIES = ("median", "mean")
METHODS = ("pairwise", "loo")
NULLS = ("shift", "phase")


def zscore_time(data: np.ndarray, *, what: str = "data") -> np.ndarray:
    """Z-score each (subject, region) series over time (population SD).

    Parameters
    ----------
    data : array, shape (n_subjects, n_times, n_regions)
    what : str
        What the data are, named in the errors.

    Returns
    -------
    numpy.ndarray, same shape, float64

    Raises
    ------
    ValueError
        When a series is constant or not finite (names subject and region index).
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 3:
        raise ValueError(f"{what}: expected (subject, time, region), got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        s, _, r = np.argwhere(~np.isfinite(data))[0]
        raise ValueError(f"{what}: non-finite value (subject {s}, region {r})")
    centred = data - data.mean(axis=1, keepdims=True)
    sd = np.sqrt((centred**2).mean(axis=1, keepdims=True))
    if np.any(sd == 0):
        s, _, r = np.argwhere(sd == 0)[0]
        raise ValueError(f"{what}: constant time series (subject {s}, region {r})")
    return centred / sd


def pair_correlations(z: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Correlation matrices of z-scored data, one per region.

    Parameters
    ----------
    z : array, shape (n_subjects, n_times, n_regions)
        Output of :func:`zscore_time`.
    dtype : numpy dtype
        Precision of the computation.

    Returns
    -------
    numpy.ndarray, shape (n_regions, n_subjects, n_subjects)
    """
    import torch

    zr = torch.from_numpy(np.ascontiguousarray(np.transpose(z, (2, 0, 1)), dtype=dtype))
    return (torch.bmm(zr, zr.transpose(1, 2)) / z.shape[1]).numpy()


def summarise(values: np.ndarray, summary: str, axis: int = -1) -> np.ndarray:
    """Median, or Fisher-z mean back-transformed, of correlations along ``axis``.

    Parameters
    ----------
    values : numpy.ndarray
        Correlations (any shape).
    summary : {'median', 'mean'}
        Median, or Fisher-z mean back-transformed.
    axis : int
        Axis summarised.

    Returns
    -------
    numpy.ndarray
        ``values`` without ``axis``.
    """
    if summary == "median":
        return np.median(values, axis=axis)
    if summary == "mean":
        clipped = np.clip(values, -1 + 1e-12, 1 - 1e-12)
        return np.tanh(np.mean(np.arctanh(clipped), axis=axis))
    raise ValueError(f"summary must be one of {SUMMARIES}, got {summary!r}")


def pairwise_isc(z: np.ndarray, summary: str = "median", dtype=np.float64) -> np.ndarray:
    """Pairwise ISC per region.

    Parameters
    ----------
    z : numpy.ndarray, shape (n_subjects, n_times, n_regions)
        z-scored data (:func:`zscore_time`).
    summary : {'median', 'mean'}
        Median, or Fisher-z mean back-transformed.
    dtype : numpy dtype
        Precision of the pair correlations.

    Returns
    -------
    numpy.ndarray, shape (n_regions,)
    """
    corr = pair_correlations(z, dtype=dtype)
    iu = np.triu_indices(z.shape[0], 1)
    return summarise(corr[:, iu[0], iu[1]], summary)


def loo_values(z: np.ndarray) -> np.ndarray:
    """Correlation of each subject with the mean of the others.

    Returns
    -------
    numpy.ndarray, shape (n_subjects, n_regions)
    """
    n = z.shape[0]
    total = z.sum(axis=0)
    others = (total[None] - z) / (n - 1)
    others = others - others.mean(axis=1, keepdims=True)
    norm = np.sqrt((others**2).sum(axis=1))
    return (z * others).sum(axis=1) / (norm * np.sqrt(z.shape[1]))


def loo_isc(z: np.ndarray, summary: str = "median") -> np.ndarray:
    """Leave-one-out ISC per region (summary over subjects), shape (n_regions,).

    Parameters
    ----------
    z : numpy.ndarray, shape (n_subjects, n_times, n_regions)
        z-scored data (:func:`zscore_time`).
    summary : {'median', 'mean'}
        Median, or Fisher-z mean back-transformed.

    Returns
    -------
    numpy.ndarray, shape (n_regions,)
        The ISC.
    """
    return summarise(loo_values(z), summary, axis=0)


def circular_shift(z: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Roll each subject's series by its own number of volumes (same for all regions).

    Parameters
    ----------
    z : numpy.ndarray, shape (n_subjects, n_times, n_regions)
        z-scored data (:func:`zscore_time`).
    shifts : numpy.ndarray of int, shape (n_subjects,)
        Volumes each subject is rolled by.

    Returns
    -------
    numpy.ndarray, shape of ``z``
        The shifted data.
    """
    n_t = z.shape[1]
    idx = (np.arange(n_t)[None, :] - np.asarray(shifts)[:, None]) % n_t
    return np.take_along_axis(z, idx[:, :, None], axis=1)


def phase_randomise(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomise the Fourier phases of each subject (same phases for all its regions).

    The amplitude spectrum of every series is kept; the zero (and Nyquist) frequency keep
    their phase so the series stay real with the same mean.

    Parameters
    ----------
    z : numpy.ndarray, shape (n_subjects, n_times, n_regions)
        z-scored data (:func:`zscore_time`).
    rng : numpy.random.Generator
        Source of the random phases.

    Returns
    -------
    numpy.ndarray, shape of ``z``
        Surrogate data, z-scored again.
    """
    n_s, n_t, _ = z.shape
    spectrum = np.fft.rfft(z, axis=1)
    phases = rng.uniform(0, 2 * np.pi, size=(n_s, spectrum.shape[1]))
    phases[:, 0] = 0.0
    if n_t % 2 == 0:
        phases[:, -1] = 0.0
    out = np.fft.irfft(spectrum * np.exp(1j * phases)[:, :, None], n=n_t, axis=1)
    return zscore_time(out)


def draw_shifts(rng: np.random.Generator, n_subjects: int, n_times: int, min_shift: int):
    """Random circular shifts in ``[min_shift, n_times - min_shift]``, one per subject.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the draws.
    n_subjects : int
        One shift per subject.
    n_times : int
        Series length (volumes).
    min_shift : int
        Smallest shift (volumes) and its mirror ``n_times - min_shift``.

    Returns
    -------
    numpy.ndarray of int, shape (n_subjects,)
        The shifts.
    """
    if not 0 <= min_shift <= n_times // 2:
        raise ValueError(f"min_shift must lie in 0..{n_times // 2}, got {min_shift}")
    return rng.integers(min_shift, n_times - min_shift + 1, size=n_subjects)


def statistic(z: np.ndarray, method: str, summary: str, dtype=np.float64) -> np.ndarray:
    """The ISC of ``method`` and ``summary`` per region, shape (n_regions,).

    Parameters
    ----------
    z : numpy.ndarray, shape (n_subjects, n_times, n_regions)
        z-scored data (:func:`zscore_time`).
    method : {'pairwise', 'loo'}
        Pairwise or leave-one-out ISC.
    summary : {'median', 'mean'}
        Median, or Fisher-z mean back-transformed.
    dtype : numpy dtype
        Precision of the pair correlations (pairwise).

    Returns
    -------
    numpy.ndarray, shape (n_regions,)
        The ISC.
    """
    if method == "pairwise":
        return pairwise_isc(z, summary, dtype=dtype)
    if method == "loo":
        return loo_isc(z, summary)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def shifted_pair_correlations(z: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Pair correlations at every relative circular lag, for some regions.

    ``out[r, p, d]`` is the correlation of subjects ``i < j`` (pair ``p`` of
    ``numpy.triu_indices(n_subjects, 1)``) when ``j`` is shifted ``d`` volumes later than
    ``i``: with per-subject shifts ``k``, the pair's null correlation is
    ``out[r, p, (k_j - k_i) % n_times]``. Computed with one FFT per series.

    Parameters
    ----------
    z : numpy.ndarray, shape (n_subjects, n_times, n_regions)
        z-scored data (:func:`zscore_time`).
    regions : numpy.ndarray of int
        Indices of the regions computed.

    Returns
    -------
    numpy.ndarray, shape (len(regions), n_pairs, n_times), float32
    """
    from scipy import fft

    n_s, n_t, _ = z.shape
    iu0, iu1 = np.triu_indices(n_s, 1)
    series = np.ascontiguousarray(np.transpose(z[:, :, regions], (2, 0, 1)), dtype=np.float32)
    spec = fft.rfft(series, axis=-1)
    cross = spec[:, iu0] * np.conj(spec[:, iu1])
    out = fft.irfft(cross, n=n_t, axis=-1, overwrite_x=True)
    out /= n_t
    return out.astype(np.float32, copy=False)


def _region_chunks(n_regions: int, bytes_per_region: int, budget: int = 256 << 20):
    size = max(1, min(n_regions, budget // max(bytes_per_region, 1)))
    return [np.arange(a, min(a + size, n_regions)) for a in range(0, n_regions, size)]


def null_distribution(
    z: np.ndarray,
    *,
    method: str,
    summary: str,
    null: str = "shift",
    n_perm: int = 1000,
    min_shift: int = 10,
    max_subjects: int = 64,
    seed: int = 0,
    progress: bool | None = None,
) -> np.ndarray:
    """Regional ISC under the null, one row per draw.

    Parameters
    ----------
    z : array, shape (n_subjects, n_times, n_regions)
        z-scored data.
    method, summary : str
    null : {"shift", "phase"}
    n_perm : int
    min_shift : int
        Smallest circular shift (volumes) for ``null="shift"``.
    max_subjects : int
        For ``method="pairwise"``, the most subjects one null draw uses (0: all).
    seed : int
    progress : bool, optional
        Progress bar (default: only in a terminal).

    Returns
    -------
    numpy.ndarray, shape (n_perm, n_regions)
        The draws depend only on ``seed`` and the data (not on chunking).
    """
    from tqdm.auto import tqdm

    if null not in NULLS:
        raise ValueError(f"null must be one of {NULLS}, got {null!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    rng = np.random.default_rng(seed)
    n_s, n_t, n_r = z.shape
    n_sub = max_subjects if method == "pairwise" and 0 < max_subjects < n_s else n_s
    subsets = [
        np.sort(rng.choice(n_s, size=n_sub, replace=False)) if n_sub < n_s else np.arange(n_s)
        for _ in range(n_perm)
    ]
    out = np.empty((n_perm, n_r))
    if null == "shift":
        shifts = np.stack([draw_shifts(rng, n_sub, n_t, min_shift) for _ in range(n_perm)])
    if method == "pairwise" and null == "shift" and n_sub == n_s:
        pair_id = np.full((n_s, n_s), -1, dtype=np.int64)
        iu0, iu1 = np.triu_indices(n_s, 1)
        pair_id[iu0, iu1] = np.arange(iu0.size)
        su0, su1 = np.triu_indices(n_sub, 1)
        chunks = _region_chunks(n_r, iu0.size * n_t * 4)
        bar = tqdm(
            total=n_perm * len(chunks),
            desc="ISC null",
            disable=None if progress is None else not progress,
        )
        for regions in chunks:
            lags_all = shifted_pair_correlations(z, regions)
            for p in range(n_perm):
                sub, k = subsets[p], shifts[p]
                pid = pair_id[sub[su0], sub[su1]]
                lag = (k[su1] - k[su0]) % n_t
                out[p, regions] = summarise(lags_all[:, pid, lag], summary)
                bar.update()
        bar.close()
        return out
    for p in tqdm(
        range(n_perm), desc="ISC null", disable=None if progress is None else not progress
    ):
        zp = z[subsets[p]] if n_sub < n_s else z
        if null == "shift":
            zp = circular_shift(zp, shifts[p])
        else:
            zp = phase_randomise(zp, rng)
        out[p] = statistic(zp, method, summary, dtype=np.float32)
    return out


def bootstrap_subjects(
    z: np.ndarray,
    *,
    method: str,
    summary: str,
    n_boot: int = 1000,
    seed: int = 0,
    corr: np.ndarray | None = None,
) -> np.ndarray:
    """Regional ISC of subject-wise bootstrap samples (Chen et al., 2016).

    For ``pairwise`` the pair correlations are computed once; each sample takes the pairs
    of the resampled subjects and drops pairs of a subject with itself. For ``loo`` the
    per-subject leave-one-out values are resampled.

    Parameters
    ----------
    z : numpy.ndarray, shape (n_subjects, n_times, n_regions)
        z-scored data (:func:`zscore_time`).
    method : {'pairwise', 'loo'}
        Pairwise or leave-one-out ISC.
    summary : {'median', 'mean'}
        Median, or Fisher-z mean back-transformed.
    n_boot : int
        Bootstrap samples.
    seed : int
        Seed of the resampling.
    corr : numpy.ndarray, shape (n_regions, n_subjects, n_subjects), optional
        Precomputed :func:`pair_correlations`.

    Returns
    -------
    numpy.ndarray, shape (n_boot, n_regions)
    """
    rng = np.random.default_rng(seed)
    n_s = z.shape[0]
    out = np.empty((n_boot, z.shape[2]))
    if method == "pairwise":
        corr = pair_correlations(z) if corr is None else corr
        iu0, iu1 = np.triu_indices(n_s, 1)
        for b in range(n_boot):
            pick = rng.integers(0, n_s, size=n_s)
            a, c = pick[iu0], pick[iu1]
            keep = a != c
            out[b] = summarise(corr[:, a[keep], c[keep]], summary)
    else:
        values = loo_values(z)
        for b in range(n_boot):
            out[b] = summarise(values[rng.integers(0, n_s, size=n_s)], summary, axis=0)
    return out


def one_sided_p(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """p = (1 + #{null >= observed}) / (1 + n_draws), along the first axis of ``null``.

    Parameters
    ----------
    observed : numpy.ndarray, shape (n_regions,)
        Observed statistic.
    null : numpy.ndarray, shape (n_draws, n_regions)
        Null draws.

    Returns
    -------
    numpy.ndarray, shape (n_regions,)
        The p values.
    """
    return (1.0 + (null >= observed[None]).sum(axis=0)) / (1.0 + null.shape[0])
