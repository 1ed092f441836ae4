"""The ``isc`` stage: inter-subject correlation per region, its null, networks and twins.

``isc(params, bold)`` takes the group ``bold`` array (subject, time, voxel), e.g. from
:func:`analysis_lib.datasets.partly_cloudy.load_group`, and returns an
:class:`xarray.Dataset` with the regional ISC, its null (p, FDR q, chance level), a
subject-bootstrap interval, the network means with intervals and network p values, and,
with ``pairs="twins"``, the twin and control ISC per pair and region and the per-network
twin tests. The computations are in :mod:`.core` (ISC, nulls, bootstrap) and
:mod:`.twins`; the CLI is ``python -m analysis_lib isc``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..encoding.nulls import fdr_bh
from ..io import sha256_array
from ..pipeline.params import StageParams, param, stage_provenance
from . import core, twins
from .core import METHODS, NULLS, SUMMARIES

__all__ = ["ISCParams", "cached_isc", "isc", "load_dataset_group", "network_groups"]


@dataclass(frozen=True)
class ISCParams(StageParams):
    """Parameters of the ``isc`` stage."""

    stage = "isc"
    method: str = param("pairwise", "ISC convention: all pairs, or leave one out", choices=METHODS)
    summary: str = param(
        "median", "summary over pairs/subjects (mean: Fisher z)", choices=SUMMARIES
    )
    pairs: str = param(
        "all", "also compute twin vs control ISC ('twins')", choices=("all", "twins")
    )
    null: str = param(
        "shift", "null: per-subject circular shift or phase randomisation", choices=NULLS
    )
    n_perm: int = param(1000, "null draws", minimum=1)
    n_boot: int = param(1000, "subject-bootstrap samples for the intervals", minimum=1)
    min_shift: int = param(10, "smallest circular shift (volumes)", minimum=0)
    null_max_subjects: int = param(
        64, "pairwise null: most subjects per null draw (0: all; fewer is conservative)", minimum=0
    )
    alpha: float = param(0.05, "FDR level for 'significant'", minimum=0, maximum=1)
    controls: str = param(
        "age-sex",
        "twin controls: age- and sex-matched pool, or the study's table",
        choices=twins.CONTROLS,
    )
    n_perm_twins: int = param(10000, "permutations of the twin tests", minimum=1)
    seed: int = param(0, "random seed of the null, bootstrap and twin permutations", minimum=0)


def network_groups(bold: xr.DataArray) -> dict[str, np.ndarray]:
    """Network name -> boolean mask over ``voxel`` (from the ``network_name`` coord)."""
    if "network_name" not in bold.coords:
        return {}
    names = np.asarray(bold["network_name"].values).astype(str)
    order = list(dict.fromkeys(names))
    if "network" in bold.coords:
        nums = np.asarray(bold["network"].values)
        first = {n: int(nums[np.flatnonzero(names == n)[0]]) for n in order}
        order.sort(key=lambda n: (first[n] == 0, first[n], n))
    return {n: names == n for n in order}


def _interval(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    tail = 100 * (1 - level) / 2
    return np.percentile(samples, tail, axis=0), np.percentile(samples, 100 - tail, axis=0)


def isc(
    params: ISCParams,
    bold: xr.DataArray,
    *,
    pairs: pd.DataFrame | None = None,
    people: pd.DataFrame | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Run the ISC stage.

    Parameters
    ----------
    params : ISCParams
    bold : xarray.DataArray, dims (subject, time, voxel)
        Regional time series of every subject (same clock), with the region coords.
    pairs : pandas.DataFrame, optional
        Twin pairs (:func:`analysis_lib.datasets.partly_cloudy.twin_pairs`); required for
        ``params.pairs == "twins"``.
    people : pandas.DataFrame, optional
        ``participants.tsv`` (for ``controls="age-sex"``).
    progress : bool, optional
        Progress bar (default: only in a terminal).

    Returns
    -------
    xarray.Dataset
        ``isc``, ``isc_low``, ``isc_high``, ``null_mean``, ``null_95``, ``p``, ``q``,
        ``significant`` (voxel); ``network_isc``, ``network_low``, ``network_high``,
        ``network_null_mean``, ``network_p``, ``network_q`` (network); ``isc_subject``
        (subject, voxel) for ``loo``; with twins ``twin_isc``, ``control_isc`` (pair,
        voxel) and the per-network twin tests.
    """
    if tuple(bold.dims) != ("subject", "time", "voxel"):
        raise ValueError(f"isc: bold must have dims (subject, time, voxel), got {bold.dims}")
    n_s = bold.sizes["subject"]
    if n_s < 3:
        raise ValueError(f"isc: needs at least 3 subjects, got {n_s}")
    z = core.zscore_time(bold.values, what="isc input")
    observed = core.statistic(z, params.method, params.summary)
    null = core.null_distribution(
        z,
        method=params.method,
        summary=params.summary,
        null=params.null,
        n_perm=params.n_perm,
        min_shift=params.min_shift,
        max_subjects=params.null_max_subjects,
        seed=params.seed,
        progress=progress,
    )
    boot = core.bootstrap_subjects(
        z, method=params.method, summary=params.summary, n_boot=params.n_boot, seed=params.seed
    )
    p = core.one_sided_p(observed, null)
    q = fdr_bh(p)
    low, high = _interval(boot)
    region_coords = {k: v for k, v in bold.coords.items() if v.dims == ("voxel",)}
    ds = xr.Dataset(
        {
            "isc": ("voxel", observed, {"long_name": f"{params.method} ISC ({params.summary})"}),
            "isc_low": ("voxel", low, {"long_name": "2.5th percentile, subject bootstrap"}),
            "isc_high": ("voxel", high, {"long_name": "97.5th percentile, subject bootstrap"}),
            "null_mean": ("voxel", null.mean(axis=0), {"long_name": "mean ISC under the null"}),
            "null_95": ("voxel", np.percentile(null, 95, axis=0), {"long_name": "null 95th pct"}),
            "p": ("voxel", p, {"long_name": "one-sided permutation p (ISC > null)"}),
            "q": ("voxel", q, {"long_name": "Benjamini-Hochberg q over regions"}),
            "significant": ("voxel", q < params.alpha),
        },
        coords=region_coords,
    )
    if params.method == "loo":
        ds["isc_subject"] = (("subject", "voxel"), core.loo_values(z))
        ds = ds.assign_coords(subject=bold["subject"].values)
    groups = network_groups(bold)
    if groups:
        names = list(groups)
        net = lambda a: np.stack([a[..., m].mean(axis=-1) for m in groups.values()], -1)  # noqa: E731
        net_obs, net_null, net_boot = net(observed), net(null), net(boot)
        net_p = core.one_sided_p(net_obs, net_null)
        nlow, nhigh = _interval(net_boot)
        ds = ds.assign_coords(network=names)
        ds["network_isc"] = ("network", net_obs, {"long_name": "mean regional ISC"})
        ds["network_low"] = ("network", nlow)
        ds["network_high"] = ("network", nhigh)
        ds["network_null_mean"] = ("network", net_null.mean(axis=0))
        ds["network_p"] = ("network", net_p)
        ds["network_q"] = ("network", fdr_bh(net_p))
        ds["network_n_regions"] = ("network", [int(m.sum()) for m in groups.values()])
    if params.pairs == "twins":
        if pairs is None:
            raise ValueError("isc: pairs='twins' needs the twin pair table")
        ids = [str(s) for s in bold["subject"].values]
        people_ix = (
            people.set_index("participant_id")
            if people is not None
            else pd.DataFrame(columns=["family_id", "sex", "age_ses02"])
        )
        t_isc, c_isc, n_c = twins.pair_isc(z, ids, pairs, people_ix, controls=params.controls)
        ds = ds.assign_coords(
            pair=np.arange(len(pairs)),
            family_id=("pair", pairs["family_id"].to_numpy(str)),
            twin_a=("pair", pairs["twin_a"].to_numpy(str)),
            twin_b=("pair", pairs["twin_b"].to_numpy(str)),
            zygosity=("pair", pairs["zygosity"].to_numpy(str)),
            n_controls=("pair", n_c),
        )
        ds["twin_isc"] = (("pair", "voxel"), t_isc, {"long_name": "r of the two twins"})
        ds["control_isc"] = (
            ("pair", "voxel"),
            c_isc,
            {"long_name": f"r of twin A with unrelated controls ({params.controls})"},
        )
        if groups:
            table = twins.network_tests(
                t_isc,
                c_isc,
                pairs["zygosity"].to_numpy(str),
                groups,
                n_perm=params.n_perm_twins,
                n_boot=params.n_boot,
                seed=params.seed,
            ).reindex(list(groups))
            for col in table.columns:
                ds[f"twins_{col}"] = ("network", table[col].to_numpy())
    ds.attrs.update(
        stage_provenance(params, bold=sha256_array(np.ascontiguousarray(bold.values))),
        dataset=str(bold.attrs.get("dataset", "")),
        n_subjects=int(n_s),
        subjects=" ".join(str(s) for s in bold["subject"].values),
        tr=float(bold.attrs.get("tr", np.nan)),
        null_description=(
            f"{params.null} null, {params.n_perm} draws"
            + (
                f", random subsets of {params.null_max_subjects} subjects per draw (conservative)"
                if params.method == "pairwise" and 0 < params.null_max_subjects < n_s
                else ""
            )
        ),
    )
    return ds


def cached_isc(
    params: ISCParams,
    bold: xr.DataArray,
    *,
    pairs: pd.DataFrame | None = None,
    people: pd.DataFrame | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """:func:`isc` with a result cache in ``$ANALYSIS_LIB_DATA/cache/isc``.

    The key is the parameters, the digest of the BOLD values and coordinates, of the pair
    and participant tables and of the library code the stage imports, so the chapter and
    the book's findings box share one computation. Warnings of the stage are stored with
    the result and raised again when it is read from the cache.

    Parameters
    ----------
    params, bold, pairs, people, progress
        As :func:`isc`.

    Returns
    -------
    xarray.Dataset
        What :func:`isc` returns.
    """
    import hashlib
    import json
    import warnings

    from ..codehash import code_digest
    from ..io import cache_lock, read_cache, write_netcdf
    from ..paths import data_home

    def table(frame):
        return None if frame is None else frame.to_csv(index=True)

    payload = {
        "params": params.as_dict(),
        "bold": sha256_array(np.asarray(bold.values)),
        "subjects": [str(x) for x in bold["subject"].values],
        "regions": [str(x) for x in bold["voxel"].values],
        "pairs": table(pairs),
        "people": table(people),
        "code": code_digest([__name__]),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode())
    path = data_home() / "cache" / "isc" / f"{digest.hexdigest()[:32]}.nc"
    cached = read_cache(path)
    if cached is None:
        with cache_lock(path):  # parallel pages of the book compute it once
            cached = read_cache(path)
            if cached is None:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    result = isc(params, bold, pairs=pairs, people=people, progress=progress)
                notes = [str(w.message) for w in caught if "IProgress" not in str(w.message)]
                result.attrs["stage_warnings"] = json.dumps(notes)
                write_netcdf(result, path)
                cached = read_cache(path)
    for note in json.loads(cached.attrs.get("stage_warnings", "[]")):
        warnings.warn(note, UserWarning, stacklevel=2)
    return cached


def load_dataset_group(
    dataset: str,
    subjects: list[str] | None = None,
    *,
    twins: bool = False,
    root: str | None = None,
    allow_pickle: bool = False,
) -> tuple[xr.DataArray, pd.DataFrame | None, pd.DataFrame | None]:
    """Load every subject (or ``subjects``) of a dataset as one (subject, time, voxel) array.

    Parameters
    ----------
    dataset : str
        A registered dataset name (:func:`analysis_lib.datasets.names`).
    subjects : list of str, optional
        Default: every subject of the dataset.
    twins : bool
        Also return the twin pairs and participants (datasets with twin tables only).
    root : str, optional
        Data folder (passed to the loader as ``root=``).
    allow_pickle : bool
        Passed to the partly-cloudy loader (see its ``regions``).

    Returns
    -------
    bold : xarray.DataArray, dims (subject, time, voxel)
    pairs, people : pandas.DataFrame or None
    """
    from .. import datasets

    if dataset == "partly-cloudy":
        from ..datasets import partly_cloudy as pc

        ids = list(subjects) if subjects else pc.subjects(root=root)
        bold = pc.load_group(ids, root=root, allow_pickle=allow_pickle)
        if twins:
            return bold, pc.twin_pairs(root=root, subject_ids=ids), pc.participants(root=root)
        return bold, None, None
    if twins:
        raise ValueError(f"isc: dataset {dataset!r} has no twin tables (pairs='twins')")
    options = {"root": root} if root else {}
    ids = list(subjects) if subjects else datasets.subjects(dataset, **options)
    arrays = [datasets.load(dataset, s, **options) for s in ids]
    first = arrays[0]
    for s, a in zip(ids, arrays, strict=True):
        if a.shape != first.shape:
            raise ValueError(f"isc: {dataset} {s} has shape {a.shape}, {ids[0]} has {first.shape}")
    stacked = xr.concat(arrays, dim="subject", coords="minimal", compat="override")
    stacked = stacked.assign_coords(subject=[str(s) for s in ids])
    return stacked.transpose("subject", "time", "voxel"), None, None
