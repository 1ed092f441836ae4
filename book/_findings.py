"""The "What this book finds" box: one row per finding, computed from the results it rests on.

Used by the intro and the study overviews (MyST notebooks that run it when the book is
built). Each finding reads the files it needs (the default grid's netCDF results, the
validation record, the real data sets); when they are missing it says **not yet run** and
names what is missing, so the box never states a result that was not computed. Nothing here
is typed: every number in a sentence comes from a file read at build time.

Kinds: ``real`` (real fMRI), ``simulated`` (the phantoms: they validate the pipeline and
never rank models), ``record`` (a JSON record of an earlier run, with its command).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

RECOVERY_TARGET = 0.8  # the book's mark for the phantom validation (book/validation/phantom)


@dataclass(frozen=True)
class Finding:
    """One question the book answers, and how to compute its answer."""

    study: str  # "A", "B" or "both"
    kind: str  # "real", "simulated" or "record"
    question: str
    compute: Callable[[Path], str]  # project root -> sentence; raises Missing


class Missing(Exception):
    """What a finding needs and is not there (shown as 'not yet run')."""


def _grid_recovery(root: Path, grid: str, dataset: str) -> str:
    from analysis_lib import datasets
    from analysis_lib.results import grid_models, model_info, read_result
    from analysis_lib.validation import planted_coefficients, recovery_score

    config = root / "configs" / "default.yaml"
    atoms_grid = grid.replace("-group", "-atoms")
    try:
        models = grid_models(grid, config=config)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise Missing(f"the grid {grid} in configs/default.yaml ({exc})") from exc
    truth = datasets.ground_truth(dataset)
    parts = []
    for m in models:
        try:
            corr = read_result(grid, m, "networks.nc", config=config)
            atoms = read_result(atoms_grid, m, "atoms.nc", config=config, variable="atoms")
        except FileNotFoundError as exc:
            raise Missing(f"results of {grid} for {m}") from exc
        rec = recovery_score(corr, planted_coefficients(atoms, truth))
        mark = "" if rec["recovery"] >= RECOVERY_TARGET else f", below the {RECOVERY_TARGET} mark"
        parts.append(
            f"{m} ({model_info(m)['weights']}): {rec['n_recovered']} of {rec['n_planted']} "
            f"planted atoms ({rec['recovery']:.0%}{mark})"
        )
    if not parts:
        raise Missing(f"models in the grid {grid}")
    n_atoms = int(corr.sizes["atom"])
    return (
        f"On the simulated `{dataset}`, with the chapters' settings ({n_atoms} atoms), the "
        "pipeline assigns planted atoms to their planted networks for " + "; ".join(parts) + "."
    )


def study_a_recovery(root: Path) -> str:
    return _grid_recovery(root, "study-a-group", "phantom-story")


def study_b_recovery(root: Path) -> str:
    return _grid_recovery(root, "study-b-group", "phantom-movie")


def validation_record(root: Path) -> str:
    path = root / "benchmarks" / "results" / "validate_phantom.json"
    if not path.is_file():
        raise Missing(str(path.relative_to(root)))
    runs = json.loads(path.read_text())["runs"]
    parts = []
    for run in runs:
        r, p = run["result"], run["result"].get("params", {})
        parts.append(
            f"`{run['command']}`: recovery {r['recovery']:.2f} ({r['n_recovered_atoms']} of "
            f"{r['n_planted_atoms']}) at {p.get('n_atoms', '?')} atoms, {p.get('n_perm', '?')} "
            f"null maps, {p.get('correction', '?')} p < {p.get('threshold', '?')}"
        )
    return (
        "The recorded end-to-end validation (a JSON record, not re-run by the build; "
        "compare its settings with the chapters' in the networks chapter): "
        + "; ".join(parts)
        + "."
    )


def _loo_isc(x: np.ndarray) -> np.ndarray:
    """Median over subjects of the leave-one-out ISC, per column of x (subject, time, col)."""
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    out = np.empty((x.shape[0], x.shape[2]))
    for s in range(x.shape[0]):
        others = np.delete(z, s, axis=0).mean(0)
        others = (others - others.mean(0)) / others.std(0)
        out[s] = (z[s] * others).mean(0)
    return np.median(out, axis=0)


def _shift_null(x: np.ndarray, n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    null = np.empty((n, x.shape[2]))
    for i in range(n):
        lags = rng.integers(10, x.shape[1] - 10, size=x.shape[0])
        null[i] = _loo_isc(np.stack([np.roll(a, int(k), 0) for a, k in zip(x, lags, strict=True)]))
    return null


def alice_isc(root: Path) -> str:
    from analysis_lib.datasets import alice
    from analysis_lib.stimuli import load_stimulus

    if not alice.available():
        raise Missing("the Alice data in ANALYSIS_LIB_EXTRA_DATA")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader's note on a defective subject
        subjects = alice.subjects()
    stim = load_stimulus("alice")
    first = alice.load(subjects[0], stimulus=stim)
    x = np.stack([alice.load(s, stimulus=stim).values for s in subjects])
    isc = _loo_isc(x)
    p = (1 + (_shift_null(x) >= isc).sum(0)) / 201
    rois = [str(r) for r in first["roi"].values]
    return (
        f"Real listeners ({len(subjects)} subjects) share part of every language region's "
        f"signal: median leave-one-out ISC from {isc.min():.2f} ({rois[int(isc.argmin())]}) to "
        f"{isc.max():.2f} ({rois[int(isc.argmax())]}); {int((p < 0.05).sum())} of {len(rois)} "
        "regions above a shifted-subject chance (p < 0.05, 200 shifts). This is the ceiling "
        "a model's prediction can reach; the models' held-out prediction is in the Alice "
        "chapter."
    )


def partly_cloudy_isc(root: Path) -> str:
    from analysis_lib import datasets

    if "partly-cloudy" not in datasets.names():
        raise Missing("the partly-cloudy dataset loader")
    subjects = datasets.subjects("partly-cloudy")[:20]
    first = datasets.load("partly-cloudy", subjects[0])
    space = next(d for d in first.dims if d != "time")
    x = np.stack(
        [datasets.load("partly-cloudy", s).transpose("time", space).values for s in subjects]
    )
    isc = _loo_isc(x)
    p = (1 + (_shift_null(x, n=100) >= isc).sum(0)) / 101
    return (
        f"Real viewers ({len(subjects)} subjects): median leave-one-out ISC of the "
        f"{isc.size} regions {np.median(isc):.2f} (largest {isc.max():.2f}); "
        f"{int((p < 0.05).sum())} regions above a shifted-subject chance (p < 0.05, 100 shifts)."
    )


FINDINGS = (
    Finding(
        "A",
        "simulated",
        "Does the pipeline recover planted network structure (language models)?",
        study_a_recovery,
    ),
    Finding("A", "real", "How much do listeners share (Alice, noise ceiling)?", alice_isc),
    Finding(
        "B",
        "simulated",
        "Does the pipeline recover planted network structure (vision-language models)?",
        study_b_recovery,
    ),
    Finding("B", "real", "How much do viewers share (Partly Cloudy)?", partly_cloudy_isc),
    Finding("both", "record", "Recorded end-to-end validation", validation_record),
)


def findings_table(root: str | Path, study: str | None = None) -> pd.DataFrame:
    """The findings of one study (``"A"``, ``"B"``) or all, computed from the project's files.

    Parameters
    ----------
    root : path-like
        The project folder (holds ``results/``, ``configs/``, ``benchmarks/``).
    study : {"A", "B"}, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``study``, ``data`` (real / simulated / record), ``question``, ``finding``:
        the sentence computed now, or "not yet run (missing: ...)".
    """
    root = Path(root)
    rows = []
    for f in FINDINGS:
        if study is not None and f.study not in (study, "both"):
            continue
        try:
            text = f.compute(root)
        except Missing as exc:
            text = f"**not yet run** (missing: {exc})"
        rows.append({"study": f.study, "data": f.kind, "question": f.question, "finding": text})
    return pd.DataFrame(rows)


def findings_markdown(root: str | Path, study: str | None = None) -> str:
    """:func:`findings_table` as a Markdown list for an admonition."""
    table = findings_table(root, study)
    label = {"real": "real data", "simulated": "simulated data only", "record": "recorded run"}
    return "\n".join(f"- *{r.question}* ({label[r.data]}) {r.finding}" for r in table.itertuples())
