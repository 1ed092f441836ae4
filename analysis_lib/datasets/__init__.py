"""Datasets: every loader returns the same ``bold`` DataArray.

``load(name, subject, **options)`` returns an :class:`xarray.DataArray` named ``bold``
with dims ``(time, voxel)``, time in seconds on the stimulus clock and the voxel
coordinates of its space (see :mod:`analysis_lib.datasets._bold`), with attrs ``space``,
``tr``, ``subject``, ``dataset``, ``source_files`` and ``source_sha256``.

Datasets (family modules in this package):

``phantom-story``, ``phantom-movie``, ``phantom-null`` (:mod:`.phantom`)
    Simulated naturalistic fMRI with known ground truth (embedded default; always available).
    ``phantom-simple`` is ``phantom-story`` under the name issue 14 gives it.
``phantom-content``, ``phantom-content-null`` (:mod:`.phantom_content`)
    The independent validation phantom: content features residualised on word timing,
    planted in Yeo-17 networks, non-stationary noise, HRF varying by subject and region.
``phantom-movie-content``, ``phantom-movie-content-null`` (:mod:`.phantom_content`)
    The same for the movie (Study B): visual and caption features residualised on scene
    and caption timing.
``alice`` (:mod:`.alice`)
    Brennan et al. (2016) ROI time courses (real data, from an extra data root).
``narratives:TASK`` (:mod:`.narratives`)
    OpenNeuro ds002345 in BIDS, e.g. ``narratives:pieman`` (real data, user's local copy).
``hcp-movie:RUN`` (:mod:`.hcp_movie`)
    HCP 7T movie runs ``hcp-movie:MOVIE1`` .. ``MOVIE4`` (real data, user's local copy).
``partly-cloudy`` (:mod:`.partly_cloudy`)
    QTAB twins watching *Partly Cloudy*, 293 regions (real data, from an extra data root).

Examples
--------
>>> from analysis_lib import datasets
>>> datasets.subjects("phantom-story")[:2]
['sub-01', 'sub-02']
>>> bold = datasets.load("phantom-story", "sub-01")  # doctest: +SKIP
>>> truth = datasets.ground_truth("phantom-story")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import xarray as xr

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "availability",
    "describe",
    "ground_truth",
    "load",
    "subjects",
]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset family.

    Attributes
    ----------
    name : str
        Name, or prefix before ``:`` for parametrised families (``narratives``).
    module : str
        Module implementing ``load``/``subjects`` (and ``ground_truth`` for simulations).
    parameter : str or None
        Keyword the part after ``:`` is passed as (``task``, ``run``), None if unused.
    fixed : dict
        Keyword arguments always passed (the phantom kind).
    space : str
        Default space.
    description : str
    """

    name: str
    module: str
    parameter: str | None
    fixed: tuple[tuple[str, Any], ...]
    space: str
    description: str


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "phantom-story",
            "analysis_lib.datasets.phantom",
            None,
            (("kind", "story"),),
            "fsLR32k",
            "simulated story listening, networks driven by word-level features",
        ),
        DatasetInfo(
            "phantom-movie",
            "analysis_lib.datasets.phantom",
            None,
            (("kind", "movie"),),
            "fsLR32k",
            "simulated movie watching, networks driven by visual and caption features",
        ),
        DatasetInfo(
            "phantom-null",
            "analysis_lib.datasets.phantom",
            None,
            (("kind", "null"),),
            "fsLR32k",
            "simulated noise only (same noise model, no stimulus-driven signal)",
        ),
        DatasetInfo(
            "phantom-simple",
            "analysis_lib.datasets.phantom",
            None,
            (("kind", "story"),),
            "fsLR32k",
            "phantom-story under the name of issue 14 (timing-dominated features, same atlas)",
        ),
        DatasetInfo(
            "phantom-content",
            "analysis_lib.datasets.phantom_content",
            None,
            (("kind", "content"),),
            "fsLR32k",
            "simulated story listening, Yeo-17 networks driven by content features "
            "(surprisal, frequency, semantic categories) residualised on word timing",
        ),
        DatasetInfo(
            "phantom-content-null",
            "analysis_lib.datasets.phantom_content",
            None,
            (("kind", "content-null"),),
            "fsLR32k",
            "phantom-content's noise only (non-stationary; no planted signal)",
        ),
        DatasetInfo(
            "phantom-movie-content",
            "analysis_lib.datasets.phantom_content",
            None,
            (("kind", "movie-content"),),
            "fsLR32k",
            "simulated movie watching, Yeo-17 networks driven by visual (redness, edges) and "
            "caption (frequency, colour words) features residualised on scene and caption "
            "timing",
        ),
        DatasetInfo(
            "phantom-movie-content-null",
            "analysis_lib.datasets.phantom_content",
            None,
            (("kind", "movie-content-null"),),
            "fsLR32k",
            "phantom-movie-content's noise only (non-stationary; no planted signal)",
        ),
        DatasetInfo(
            "alice",
            "analysis_lib.datasets.alice",
            None,
            (),
            "roi",
            "Brennan et al. (2016) Alice listening fMRI, 6 ROIs (real)",
        ),
        DatasetInfo(
            "narratives",
            "analysis_lib.datasets.narratives",
            "task",
            (),
            "MNI152NLin2009cAsym",
            "Narratives, OpenNeuro ds002345 (real, BIDS), e.g. narratives:pieman",
        ),
        DatasetInfo(
            "hcp-movie",
            "analysis_lib.datasets.hcp_movie",
            "run",
            (),
            "fsLR32k",
            "HCP 7T movie watching, CIFTI dtseries (real), e.g. hcp-movie:MOVIE1",
        ),
        DatasetInfo(
            "partly-cloudy",
            "analysis_lib.datasets.partly_cloudy",
            None,
            (),
            "roi",
            "QTAB twins watching Partly Cloudy, 293 regions, TR 0.8 s (real)",
        ),
    )
}


def _resolve(name: str) -> tuple[DatasetInfo, ModuleType, dict[str, Any]]:
    base, _, arg = str(name).partition(":")
    if base not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(names())}")
    info = DATASETS[base]
    kwargs = dict(info.fixed)
    if info.parameter is not None:
        if not arg:
            raise ValueError(
                f"dataset {base!r} needs a {info.parameter}: use '{base}:{info.parameter.upper()}'"
            )
        kwargs[info.parameter] = arg
    elif arg:
        raise ValueError(f"dataset {base!r} takes no ':{arg}' part")
    return info, importlib.import_module(info.module), kwargs


def names() -> list[str]:
    """Registered dataset names (parametrised families as ``name:PARAM``)."""
    return [
        f"{i.name}:{i.parameter.upper()}" if i.parameter else i.name for i in DATASETS.values()
    ]


def load(name: str, subject: str, **options: Any) -> xr.DataArray:
    """Load one subject's BOLD data of a dataset.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"phantom-story"``, ``"alice"``, ``"narratives:pieman"``,
        ``"hcp-movie:MOVIE1"``.
    subject : str
        Subject id as listed by :func:`subjects`.
    **options
        Passed to the family's loader (e.g. ``radius="10mm"`` for alice, ``root=``,
        ``derivative=``, ``run=`` for narratives, ``space="MNI152-4mm"`` for phantoms).

    Returns
    -------
    xarray.DataArray
        ``bold``, dims (time, voxel).
    """
    _, module, kwargs = _resolve(name)
    return module.load(subject, **kwargs, **options)


def subjects(name: str, **options: Any) -> list[str]:
    """Usable subjects of a dataset (defective recordings left out with a warning).

    Parameters
    ----------
    name : str
        Registered dataset (:data:`DATASETS`), e.g. ``narratives:pieman``.
    **options
        Passed to the dataset module's ``subjects`` (``root`` ...).

    Returns
    -------
    list of str
        Subject ids.
    """
    _, module, kwargs = _resolve(name)
    return module.subjects(**kwargs, **options)


def ground_truth(name: str, **options: Any) -> xr.Dataset:
    """Ground truth of a simulated dataset (raises ValueError for real data).

    Parameters
    ----------
    name : str
        A simulated dataset (``phantom-story``, ``phantom-movie``, ``phantom-null``).
    **options
        Passed to the dataset module's ``ground_truth``.

    Returns
    -------
    xarray.Dataset
        The planted truth (see :func:`analysis_lib.datasets.phantom.ground_truth`).
    """
    info, module, kwargs = _resolve(name)
    if not hasattr(module, "ground_truth"):
        raise ValueError(f"dataset {info.name!r} is real data: it has no ground truth")
    return module.ground_truth(**kwargs, **options)


def availability() -> dict[str, bool]:
    """Which datasets are usable on this machine without a network."""
    out: dict[str, bool] = {}
    for info in DATASETS.values():
        module = importlib.import_module(info.module)
        label = f"{info.name}:{info.parameter.upper()}" if info.parameter else info.name
        try:
            out[label] = bool(module.available(**dict(info.fixed)))
        except Exception:  # a broken root must not break the report
            out[label] = False
    return out


def describe() -> list[dict[str, Any]]:
    """One row per dataset: name, space, available, subjects (or why none), description."""
    rows = []
    avail = availability()
    for info in DATASETS.values():
        label = f"{info.name}:{info.parameter.upper()}" if info.parameter else info.name
        module = importlib.import_module(info.module)
        row: dict[str, Any] = {
            "name": label,
            "space": info.space,
            "available": avail[label],
            "description": info.description,
        }
        try:
            if info.parameter is not None:
                row["subjects"] = module.describe_subjects()
            else:
                import warnings

                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    row["subjects"] = module.subjects(**dict(info.fixed))
                row["notes"] = [str(w.message) for w in caught]
        except (FileNotFoundError, ValueError) as exc:
            row["subjects"] = []
            row["notes"] = [str(exc).splitlines()[0]]
            if hasattr(module, "HOW_TO_GET"):
                row["notes"].append(module.HOW_TO_GET)
        rows.append(row)
    return rows
