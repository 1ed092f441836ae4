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
    parts, random_pass = [], []
    for m in models:
        try:
            corr = read_result(grid, m, "networks.nc", config=config)
            atoms = read_result(atoms_grid, m, "atoms.nc", config=config, variable="atoms")
        except FileNotFoundError as exc:
            raise Missing(f"results of {grid} for {m}") from exc
        rec = recovery_score(corr, planted_coefficients(atoms, truth))
        mark = "" if rec["recovery"] >= RECOVERY_TARGET else f", below the {RECOVERY_TARGET} mark"
        if model_info(m)["weights"] == "random" and rec["recovery"] >= RECOVERY_TARGET:
            random_pass.append(m)
        parts.append(
            f"{m} ({model_info(m)['weights']}): {rec['n_recovered']} of {rec['n_planted']} "
            f"planted atoms ({rec['recovery']:.0%}{mark})"
        )
    if not parts:
        raise Missing(f"models in the grid {grid}")
    n_atoms = int(corr.sizes["atom"])
    caveat = (
        f" Random-weight models ({', '.join(random_pass)}) reach the mark too, so on this "
        "phantom recovery shows that the pipeline's mechanics work, not that a model carries "
        "language or vision: the content phantom (below) is the validation that can fail."
        if random_pass
        else ""
    )
    return (
        f"On the simulated `{dataset}`, with the chapters' settings ({n_atoms} atoms), the "
        "pipeline assigns planted atoms to their planted networks for "
        + "; ".join(parts)
        + "."
        + caveat
    )


def study_a_recovery(root: Path) -> str:
    return _grid_recovery(root, "study-a-group", "phantom-story")


def study_b_recovery(root: Path) -> str:
    return _grid_recovery(root, "study-b-group", "phantom-movie")


def validation_record(root: Path) -> str:
    records = []
    # the calibrated rule's record: the rule the book's grid runs
    for part in ("shift",):
        path = root / "benchmarks" / "results" / f"validate_content_{part}.json"
        if not path.is_file():
            raise Missing(str(path.relative_to(root)))
        records.append(json.loads(path.read_text()))
    runs = {k: v for r in records for k, v in r["runs"].items() if "summary" in v}
    if not runs:
        raise Missing("finished seeds in the validate_content records")

    def stat(name: str, key: str) -> str:
        v = runs[name]["summary"][key]
        return f"{v['mean']:.2f} [{v['low']:.2f}, {v['high']:.2f}]"

    parts = [
        f"{name} F1 {stat(name, 'f1')}, null false-positive rate {stat(name, 'null_fpr')} "
        f"({runs[name]['summary']['f1']['n']} held-out seeds)"
        for name in runs
    ]
    settings = records[0]["settings"]
    commands = "; ".join("`" + r["command"] + "`" for r in records)
    text = (
        "On the simulated content phantom (planted surprisal, frequency and semantic "
        f"features; recorded runs {commands}, finished "
        f"{max(r['finished'] for r in records)}, {settings['n_atoms']} atoms, the book's "
        f"rule `{settings['rule']}`): "
        + "; ".join(parts)
        + ". Mean [95 % interval]. The targets are F1 at least 0.6 for the pretrained model, "
        "at most 0.2 for the random twin and timing atoms, null rate within [0.02, 0.07]; "
        "the validation chapter says which hold and why."
    )
    movie_path = root / "benchmarks" / "results" / "validate_movie_shift.json"
    if movie_path.is_file():
        movie = json.loads(movie_path.read_text())
        mruns = {k: v for k, v in movie["runs"].items() if "summary" in v}
        if mruns:
            f1 = {k: v["summary"]["f1"] for k, v in mruns.items()}
            text += (
                " Study B path on the simulated movie phantom (`"
                + movie["command"]
                + f"`, {movie['settings']['n_atoms']} atoms): "
                + "; ".join(
                    f"{k} F1 {v['mean']:.2f} [{v['low']:.2f}, {v['high']:.2f}]"
                    for k, v in f1.items()
                )
                + "."
            )
    return text


def _stack(arrays: list, dim: str):
    import xarray as xr

    out = xr.concat(arrays, dim="subject", coords="minimal", compat="override")
    if dim != "voxel":
        out = out.rename({dim: "voxel"})
    return out.transpose("subject", "time", "voxel")


def alice_isc(root: Path) -> str:
    from analysis_lib.datasets import alice
    from analysis_lib.isc import ISCParams, isc
    from analysis_lib.stimuli import load_stimulus

    if not alice.available():
        raise Missing("the Alice data (python -m analysis_lib fetch alice)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader's note on a defective subject
        subjects = alice.subjects()
    stim = load_stimulus("alice")
    arrays = [alice.load(s, stimulus=stim) for s in subjects]
    space = next(d for d in arrays[0].dims if d != "time")
    params = ISCParams()
    result = isc(params, _stack(arrays, space), progress=False)
    names = result["roi"] if "roi" in result.coords else result["voxel"]
    rois = [str(r) for r in names.values]
    values = result.isc.values
    lo, hi = int(values.argmin()), int(values.argmax())
    return (
        f"Real listeners ({len(subjects)} subjects), {len(rois)} language ROIs: "
        f"{params.method} ISC ({params.summary}) from {values[lo]:.2f} ({rois[lo]}) "
        f"to {values[hi]:.2f} ({rois[hi]}); {int(result.significant.sum())} of {len(rois)} "
        f"regions above chance ({result.attrs['null_description']}, FDR q < {params.alpha}). "
        "ISC measures what listeners share; the bound for a model's prediction is the "
        "noise ceiling of the Alice chapter (on the R² scale the models are scored on)."
    )


def alice_models(root: Path) -> str:
    from analysis_lib.comparison import CompareParams, cached_compare, summary_table
    from analysis_lib.datasets import alice

    if not alice.available():
        raise Missing("the Alice data (python -m analysis_lib fetch alice)")
    params = CompareParams(dataset="alice", features="book", n_jobs=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"alice: subject .* left out")
        ds = cached_compare(params, progress=False)
    table = summary_table(ds)
    alpha = 0.05
    pos = table[(table["p Holm"] < alpha) & (table["mean dR² (ROIs)"] > 0)]
    best = table["mean dR² (ROIs)"].idxmax()
    b = table.loc[best]
    head = (
        f"none of the {len(table)} feature sets adds held-out variance"
        if pos.empty
        else f"{len(pos)} of the {len(table)} feature sets add held-out variance "
        f"({', '.join(f'`{f}`' for f in pos.index)})"
    )
    return (
        f"On {int(ds.sizes['subject'])} real listeners, {head} over word rate, sound power "
        f"and motion (mean over ROIs, Holm-corrected sign-flip test, p < {alpha}); the "
        f"largest mean ΔR² is {b['mean dR² (ROIs)']:.4f} (`{best}`, 95 % CI "
        f"{b['95% CI low']:.4f} to {b['95% CI high']:.4f}). Model atoms, surprisal and the "
        "random-weight twins are among the sets (the Alice chapter)."
    )


def _partly_cloudy_isc():
    from analysis_lib.datasets import partly_cloudy
    from analysis_lib.isc import ISCParams, cached_isc, load_dataset_group

    if not partly_cloudy.available():
        raise Missing("the Partly Cloudy data (python -m analysis_lib fetch partly-cloudy)")
    params = ISCParams(pairs="twins")  # the chapter's settings (and its cached result)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counts of skipped twins: the chapter states them
        bold, pairs, people = load_dataset_group("partly-cloudy", twins=True)
        result = cached_isc(params, bold, pairs=pairs, people=people, progress=False)
    return params, result


def partly_cloudy_isc(root: Path) -> str:
    from analysis_lib.isc.twins import twin_summary

    params, result = _partly_cloudy_isc()
    net = result.network_isc
    best = str(net.idxmax("network").values)
    tw = twin_summary(result, alpha=params.alpha)
    verdict = (
        f"twins are more alike than matched unrelated viewers in {', '.join(tw['significant'])}"
        if tw["holds"]
        else "twins are not more alike than matched unrelated viewers in any network"
    )
    return (
        f"Real viewers ({result.attrs['n_subjects']} subjects): "
        f"{int(result.significant.sum())} of {result.sizes['voxel']} regions are synchronised "
        f"above chance ({params.method} ISC, {params.summary}; FDR q < {params.alpha}); the "
        f"most synchronised network is {best} ({float(net.sel(network=best)):.2f}, 95 % CI "
        f"{float(result.network_low.sel(network=best)):.2f} to "
        f"{float(result.network_high.sel(network=best)):.2f}). Over {tw['n_pairs']} twin "
        f"pairs, {verdict} (Holm over {tw['n_networks']} networks, p < {params.alpha})."
    )


def partly_cloudy_known_answer(root: Path) -> str:
    from analysis_lib import event_model
    from analysis_lib.datasets import partly_cloudy
    from analysis_lib.isc import load_dataset_group

    if not partly_cloudy.available():
        raise Missing("the Partly Cloudy data (python -m analysis_lib fetch partly-cloudy)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bold, _, _ = load_dataset_group("partly-cloudy")
    events = partly_cloudy.events()
    offset = event_model.justified_offset(event_model.clock_lag_scan(bold, events))
    glm = event_model.event_glm(bold, events, offset=offset)
    table = event_model.area_table(glm, partly_cloudy.regions())
    good = table.index[table["as expected"]].tolist()
    bad = table.index[~table["as expected"]].tolist()
    return (
        f"The known answer of Richardson et al. (mental > pain events, {bold.sizes['subject']} "
        f"subjects) comes out in the expected direction in {', '.join(good) or 'no area'}"
        + (f", not in {', '.join(bad)}" if bad else "")
        + f"; {int(glm.significant.sum())} regions pass FDR q < 0.05. The clock is checked "
        f"by a lag scan; offset applied {offset:.1f} s."
    )


def partly_cloudy_atoms(root: Path) -> str:
    from analysis_lib.datasets import partly_cloudy
    from analysis_lib.film_atoms import FilmAtomsParams, cached_film_atoms, summary_table

    if not partly_cloudy.available():
        raise Missing("the Partly Cloudy data (python -m analysis_lib fetch partly-cloudy)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the chapter's first pair (a pretrained model, its random-weight control)
        film = {
            m: cached_film_atoms(FilmAtomsParams(model=m, n_jobs=2))
            for m in ("minilm", "tiny-bert")
        }
    table = summary_table(film)
    first = film["minilm"]
    parts = [
        f"{m} {table.loc[m, 'atoms assigned']} of {table.loc[m, 'atoms']} atoms assigned to a "
        f"network, networks with held-out dR^2 > 0 over the event model: "
        f"{table.loc[m, 'networks dR2 > 0']}"
        for m in film
    ]
    return (
        f"Text atoms of the film's event descriptions (no dialogue), "
        f"{first.attrs['n_subjects']} subjects: " + "; ".join(parts) + " (MiniLM, then its "
        "random-weight control; BH and Holm at 0.05; the Partly Cloudy chapter has all models)."
    )


FINDINGS = (
    Finding(
        "A",
        "simulated",
        "Does the pipeline recover planted network structure (language models)?",
        study_a_recovery,
    ),
    Finding("A", "real", "How much do listeners share (Alice)?", alice_isc),
    Finding(
        "A",
        "real",
        "Do language-model features predict real listeners beyond timing?",
        alice_models,
    ),
    Finding(
        "B",
        "simulated",
        "Does the pipeline recover planted network structure (vision-language models)?",
        study_b_recovery,
    ),
    Finding(
        "B",
        "real",
        "How much do viewers share, and twins more (Partly Cloudy)?",
        partly_cloudy_isc,
    ),
    Finding(
        "B",
        "real",
        "Does a known answer come out on these data (mental > pain)?",
        partly_cloudy_known_answer,
    ),
    Finding(
        "B",
        "real",
        "Do text-model atoms of the film match brain networks beyond a random model?",
        partly_cloudy_atoms,
    ),
    Finding(
        "both",
        "record",
        "Does the pipeline find planted content features (validation record)?",
        validation_record,
    ),
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
