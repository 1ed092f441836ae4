"""The event model of a film: HRF-convolved event regressors, their clock, and a GLM.

A film annotated with typed events (Partly Cloudy: ``mental``, ``social``, ``pain``,
``control``; Richardson et al., 2018) gives one regressor per type: boxcars from onset
to onset + duration, convolved with the HRF of :mod:`analysis_lib.hrf` and sampled at
the volume times.

* :func:`clock_lag_scan` checks that the events are on the scan clock: it shifts the
  regressors by a range of lags and measures how much of the group-mean signal of chosen
  networks they explain (R^2 of an OLS fit with an intercept, regressors filtered like
  the data). :func:`justified_offset` turns the scan into the offset to apply (the rule
  is in its docstring).
* :func:`event_glm` fits the regressors to every region of every subject with the
  project's encoding (:func:`analysis_lib.encoding.fit_encoding`, OLS with cosine
  drift) and tests a contrast over subjects (one-sample t, Benjamini-Hochberg q).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .encoding.nulls import fdr_bh
from .hrf import design_matrix


def event_regressors(
    events: pd.DataFrame,
    volume_times: np.ndarray,
    *,
    types: Sequence[str] = ("mental", "social", "pain", "control"),
    offset: float = 0.0,
    hrf: str = "spm",
) -> xr.DataArray:
    """One HRF-convolved regressor per event type.

    Parameters
    ----------
    events : pandas.DataFrame
        Columns ``onset``, ``duration`` (s) and ``trial_type``.
    volume_times : array, shape (n_volumes,)
    types : sequence of str
        Event types, one regressor each (in this order).
    offset : float
        Seconds added to every onset (a clock correction; 0 = as annotated).
    hrf : {"spm", "glover"}

    Returns
    -------
    xarray.DataArray
        ``events``, dims (time, atom); atom = event type.
    """
    volume_times = np.asarray(volume_times, float)
    columns = []
    for kind in types:
        sel = events[events["trial_type"] == kind]
        if sel.empty:
            raise ValueError(f"event model: no {kind!r} events")
        weights = design_matrix(
            sel["onset"].to_numpy(float) + offset,
            sel["duration"].to_numpy(float),
            volume_times,
            hrf=hrf,
        )
        columns.append(weights.sum(axis=1))
    return xr.DataArray(
        np.column_stack(columns),
        dims=("time", "atom"),
        coords={"time": ("time", volume_times, {"units": "s"}), "atom": list(types)},
        name="events",
        attrs={"hrf": hrf, "offset_s": float(offset), "long_name": "HRF-convolved events"},
    )


def bandpass(x: np.ndarray, tr: float, low: float = 0.01, high: float = 0.12) -> np.ndarray:
    """Detrend and band-pass columns as the Partly Cloudy authors did (nilearn, Butterworth).

    Parameters
    ----------
    x : numpy.ndarray, shape (n_times, n_columns)
        Time series, time first.
    tr : float
        Repetition time (s).
    low : float
        High-pass cut-off (Hz).
    high : float
        Low-pass cut-off (Hz).

    Returns
    -------
    numpy.ndarray, shape (n_times, n_columns)
        The filtered series (nilearn ``signal.clean``).
    """
    from nilearn.signal import clean

    return clean(
        np.asarray(x, float),
        t_r=tr,
        detrend=True,
        standardize=None,
        low_pass=high,
        high_pass=low,
    )


def _r2(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(x)), x])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    centred = y - y.mean(axis=0)
    return 1.0 - (resid**2).sum(axis=0) / (centred**2).sum(axis=0)


def clock_lag_scan(
    bold: xr.DataArray,
    events: pd.DataFrame,
    *,
    networks: Sequence[str] = ("visual I", "visual II", "visual association", "default mode"),
    lags: np.ndarray | None = None,
    types: Sequence[str] = ("mental", "social", "pain", "control"),
    band: tuple[float, float] | None = (0.01, 0.12),
    n_null: int = 200,
    seed: int = 0,
) -> xr.Dataset:
    """R^2 of the event regressors against group-mean network signals, per lag.

    Parameters
    ----------
    bold : xarray.DataArray, dims (subject, time, voxel)
        With a ``network_name`` coord and ``tr`` attr.
    events : pandas.DataFrame
    networks : sequence of str
        Networks whose group-mean signal (mean over subjects and regions) is fitted.
    lags : array of float, optional
        Seconds added to every onset (default -10 .. 10 s in steps of 0.4 s, half a TR).
    types : sequence of str
    band : (float, float) or None
        Band-pass the regressors like the data (Hz); None: no filter.
    n_null : int
        Chance level: R^2 of the lag-0 regressors circularly shifted by a random 20 s or
        more (the events' timing destroyed, their autocorrelation kept), ``n_null`` draws.
    seed : int

    Returns
    -------
    xarray.Dataset
        ``r2`` (lag, network), ``best_lag`` (network), ``r2_null_95`` (network, 95th
        percentile of the chance R^2) and attr ``best_lag_mean_s`` (the lag that maximises
        R^2 averaged over the networks).
    """
    tr = float(bold.attrs["tr"])
    lags = np.round(np.arange(-10.0, 10.0 + 1e-9, tr / 2), 6) if lags is None else np.asarray(lags)
    names = np.asarray(bold["network_name"].values).astype(str)
    missing = [n for n in networks if n not in names]
    if missing:
        raise ValueError(f"clock_lag_scan: unknown network(s) {missing}")
    group = bold.values.mean(axis=0)
    signals = np.column_stack([group[:, names == n].mean(axis=1) for n in networks])
    times = bold["time"].values
    r2 = np.empty((lags.size, len(networks)))
    for i, lag in enumerate(lags):
        x = event_regressors(events, times, types=types, offset=float(lag)).values
        if band is not None:
            x = bandpass(x, tr, *band)
        r2[i] = _r2(signals, x)
    x0 = event_regressors(events, times, types=types).values
    if band is not None:
        x0 = bandpass(x0, tr, *band)
    rng = np.random.default_rng(seed)
    gap = int(np.ceil(20.0 / tr))
    null = np.array(
        [
            _r2(signals, np.roll(x0, int(k), axis=0))
            for k in rng.integers(gap, len(times) - gap + 1, size=n_null)
        ]
    )
    best = lags[np.argmax(r2, axis=0)]
    best_mean = float(lags[np.argmax(r2.mean(axis=1))])
    return xr.Dataset(
        {
            "r2": (("lag", "network"), r2, {"long_name": "R^2 of the event model"}),
            "best_lag": ("network", best, {"units": "s"}),
            "r2_null_95": ("network", np.percentile(null, 95, axis=0)),
        },
        coords={"lag": ("lag", lags, {"units": "s"}), "network": list(networks)},
        attrs={"best_lag_mean_s": best_mean, "tr": tr, "n_subjects": int(bold.sizes["subject"])},
    )


def justified_offset(
    scan: xr.Dataset, *, latency_tolerance: float = 2.0, agreement: float = 2.0
) -> float:
    """The clock offset the lag scan justifies (seconds to add to every onset).

    Rule: a lag within ``latency_tolerance`` seconds of zero is what differences between
    the canonical HRF and real response latencies give (regions and people differ by
    1-2 s; Handwerker et al., 2004), not a clock error, so no offset is applied. A larger
    best lag (of R^2 averaged over the networks) is applied only when every network's own
    best lag lies within ``agreement`` seconds of it and, where the scan has its chance
    level, every network's R^2 at that lag exceeds the 95th percentile of chance;
    otherwise the scan is ambiguous and the offset is 0.

    Parameters
    ----------
    scan : xarray.Dataset
        The clock lag scan (R^2 per lag and network, optional chance level).
    latency_tolerance : float
        Lags (s) within this of zero give no offset.
    agreement : float
        Largest distance (s) of a network's own best lag from the common one.

    Returns
    -------
    float
    """
    best = float(scan.attrs["best_lag_mean_s"])
    if abs(best) <= latency_tolerance:
        return 0.0
    per_network = np.asarray(scan["best_lag"].values, float)
    if not np.all(np.abs(per_network - best) <= agreement):
        return 0.0
    if "r2" in scan and "r2_null_95" in scan:
        at_best = scan["r2"].sel(lag=best, method="nearest").values
        if not np.all(at_best > scan["r2_null_95"].values):
            return 0.0
    return best


def event_glm(
    bold: xr.DataArray,
    events: pd.DataFrame,
    *,
    contrast: dict[str, float] | None = None,
    offset: float = 0.0,
    types: Sequence[str] = ("mental", "social", "pain", "control"),
    alpha: float = 0.05,
) -> xr.Dataset:
    """Fit the event model per subject and region; test a contrast over subjects.

    Parameters
    ----------
    bold : xarray.DataArray, dims (subject, time, voxel)
    events : pandas.DataFrame
    contrast : dict, optional
        Weights per event type (default ``{"mental": 1, "pain": -1}``).
    offset : float
        Clock offset (s) added to the onsets (see :func:`justified_offset`).
    types : sequence of str
    alpha : float
        FDR level for ``significant``.

    Returns
    -------
    xarray.Dataset
        ``beta`` (subject, atom, voxel); ``contrast_subject`` (subject, voxel);
        ``contrast_mean``, ``tstat``, ``pvalue`` (two-sided one-sample t over subjects),
        ``qvalue`` (BH over regions), ``significant`` (voxel), with the region coords.
    """
    from .encoding import fit_encoding

    contrast = contrast or {"mental": 1.0, "pain": -1.0}
    unknown = sorted(set(contrast) - set(types))
    if unknown:
        raise ValueError(f"event_glm: contrast names unknown event type(s) {unknown}")
    times = bold["time"].values
    regressors = event_regressors(events, times, types=types, offset=offset)
    tr = float(bold.attrs["tr"])
    betas = []
    for s in range(bold.sizes["subject"]):
        one = bold.isel(subject=s, drop=True)
        fit = fit_encoding(
            regressors, one, n_perm=0, cv=None, tr=tr, progress=False, drift_model="cosine"
        )
        betas.append(fit["beta"].transpose("atom", "voxel").values)
    beta = np.stack(betas)
    weights = np.array([contrast.get(t, 0.0) for t in types])
    con = np.einsum("a,sav->sv", weights, beta)
    t, p = stats.ttest_1samp(con, 0.0, axis=0)
    q = fdr_bh(p)
    region_coords = {k: v for k, v in bold.coords.items() if v.dims == ("voxel",)}
    label = " ".join(f"{w:+g} {n}" for n, w in contrast.items())
    return xr.Dataset(
        {
            "beta": (("subject", "atom", "voxel"), beta),
            "contrast_subject": (("subject", "voxel"), con),
            "contrast_mean": ("voxel", con.mean(axis=0)),
            "tstat": ("voxel", t),
            "pvalue": ("voxel", p, {"long_name": "two-sided one-sample t over subjects"}),
            "qvalue": ("voxel", q),
            "significant": ("voxel", q < alpha),
        },
        coords={"subject": bold["subject"].values, "atom": list(types), **region_coords},
        attrs={"contrast": label, "offset_s": float(offset), "n_subjects": len(betas)},
    )


#: How regions are chosen for the ToM / pain-matrix comparison (see :func:`select_regions`).
ROI_RULES: dict[str, dict] = {
    "TPJ": {"names": ("Angular_Gyrus", "Supramarginal_Gyrus_posterior_division"), "lateral": 35.0},
    "precuneus": {"names": ("Precuneous_Cortex",), "lateral": 0.0},
    "mPFC": {
        "names": ("Frontal_Medial_Cortex", "Paracingulate_Gyrus"),
        "lateral": 0.0,
        "y_min": 30.0,
    },
    "insula": {"names": ("Insular_Cortex",), "lateral": 0.0},
    "S2": {"names": ("Parietal_Operculum_Cortex",), "lateral": 0.0},
    "dorsal cingulate": {
        "names": ("Cingulate_Gyrus_anterior_division",),
        "lateral": 0.0,
        "z_min": 20.0,
    },
}
#: Richardson et al. (2018): mental > pain in ToM regions, pain > mental in the pain matrix.
EXPECTED_SIGN = {
    "TPJ": 1,
    "precuneus": 1,
    "mPFC": 1,
    "insula": -1,
    "S2": -1,
    "dorsal cingulate": -1,
}


def _main_label(name: str) -> tuple[str, float]:
    """The largest Harvard-Oxford component of a Shen region name ('92.80% X; 7.20% Y')."""
    best, share = "", 0.0
    for part in str(name).split(";"):
        part = part.strip()
        if "%" not in part:
            continue
        pct, _, label = part.partition("%")
        try:
            value = float(pct)
        except ValueError:
            continue
        if value > share:
            best, share = label.strip(), value
    return best, share


def select_regions(table: pd.DataFrame, min_share: float = 25.0) -> dict[str, np.ndarray]:
    """Shen regions of each ToM / pain-matrix area, by anatomical name and MNI centroid.

    Rule: a Shen region belongs to an area when the largest Harvard-Oxford component of its
    ``name`` is one of the area's labels in :data:`ROI_RULES` and covers at least
    ``min_share`` percent of it, its centroid ``|x|`` is at least the area's ``lateral``
    (TPJ: lateral parietal only), its ``y`` at least ``y_min`` (mPFC: anterior to 30 mm, which
    leaves out the pre-SMA part of the paracingulate gyrus) and its ``z`` at least ``z_min``
    where given (dorsal cingulate: above 20 mm).

    Parameters
    ----------
    table : pandas.DataFrame
        Region table with ``name`` and centroid ``x``, ``y``, ``z`` (mm).
    min_share : float
        Smallest share (percent) of the region's largest Harvard-Oxford component.

    Returns
    -------
    dict
        Area -> boolean mask over the table's rows.
    """
    main = [_main_label(n) for n in table["name"]]
    labels = np.array([m[0] for m in main])
    shares = np.array([m[1] for m in main])
    shen = table["atlas"].to_numpy() == "shen268"
    out = {}
    for area, rule in ROI_RULES.items():
        mask = shen & np.isin(labels, rule["names"]) & (shares >= min_share)
        mask &= np.abs(table["x"].to_numpy(float)) >= rule.get("lateral", 0.0)
        if "y_min" in rule:
            mask &= table["y"].to_numpy(float) >= rule["y_min"]
        if "z_min" in rule:
            mask &= table["z"].to_numpy(float) >= rule["z_min"]
        out[area] = mask
    return out


def area_table(glm: xr.Dataset, table: pd.DataFrame) -> pd.DataFrame:
    """The mental > pain contrast in the known-answer areas, one row per area.

    Parameters
    ----------
    glm : xarray.Dataset
        Output of :func:`event_glm` (``tstat``, ``significant`` over regions).
    table : pandas.DataFrame
        The region table (:func:`analysis_lib.datasets.partly_cloudy.regions`), from which
        :func:`select_regions` picks the areas.

    Returns
    -------
    pandas.DataFrame
        Index ``area``; columns ``expected sign`` (+ / -), ``regions``, ``mean t``,
        ``regions with expected sign``, ``significant (q<0.05)``, ``as expected`` (the sign
        of the mean t is the expected one).
    """
    rows = []
    for area, mask in select_regions(table).items():
        t = glm.tstat.values[mask]
        rows.append(
            {
                "area": area,
                "expected sign": "+" if EXPECTED_SIGN[area] > 0 else "-",
                "regions": int(mask.sum()),
                "mean t": float(t.mean()),
                "regions with expected sign": int((np.sign(t) == EXPECTED_SIGN[area]).sum()),
                "significant (q<0.05)": int(glm.significant.values[mask].sum()),
            }
        )
    out = pd.DataFrame(rows).set_index("area")
    out["as expected"] = np.sign(out["mean t"]) == out["expected sign"].map({"+": 1, "-": -1})
    return out
