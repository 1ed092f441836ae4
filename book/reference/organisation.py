# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How the code is organised
#
# The analysis is six **stages**. Each stage is one function of {mod}`analysis_lib.pipeline`
# taking one frozen parameters object (a {class}`~analysis_lib.pipeline.StageParams`
# dataclass that holds the stage's single set of defaults) and returning an
# `xarray.Dataset` with the same provenance attributes (`stage`, `analysis_lib_version`,
# `params`, `input_<name>_sha256`). Three notebooks, the command line and
# {mod}`analysis_lib.validation` all call these functions; none assembles a stage itself.
#
# ## The stage map
#
# The table below is generated from the code when the book is built
# ({data}`analysis_lib.pipeline.STAGES`, the CLI's command modules and the notebooks'
# imports), so it is always that of this version. The last rows are stages that live in a
# package or module of their own ({mod}`analysis_lib.isc`, {mod}`analysis_lib.comparison`,
# {mod}`analysis_lib.film_atoms`) and follow the same pattern. The parameters are the stage's fields
# with their defaults; the same names (with `-` for `_`) are the command's options.

# %% tags=["remove-input"]
import importlib.util
import re
from pathlib import Path

from IPython.display import Markdown, display

import analysis_lib
from analysis_lib.comparison.stage import CompareParams
from analysis_lib.film_atoms import FilmAtomsParams
from analysis_lib.isc import ISCParams
from analysis_lib.pipeline import STAGES

ROOT = Path(analysis_lib.__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
# The main chain (analysis_lib.pipeline.STAGES), then the stages of their own package.
ALL_STAGES = {
    **STAGES,
    **{cls.stage: cls for cls in (ISCParams, CompareParams, FilmAtomsParams)},
}

# The file each notebook writes for a stage (notebooks/*.py, `write_netcdf(..., out / NAME)`).
RESULT_FILE = {
    "extract": "(kept in memory; `extract --out` writes it)",
    "decompose": "`atoms.nc`",
    "encode": "`encoding_<subject>.nc`",
    "group": "`group.nc`",
    "networks": "`networks.nc`",
    "metrics": "`metrics.nc`, `atoms_per_network.nc`",
    "isc": "`isc --out FILE` (the Study B chapter on Partly Cloudy calls it)",
    "compare": "cached in the data home; `compare -o FILE` (the Alice chapter calls it)",
    "film-atoms": "cached in the data home; `film-atoms -o FILE` (the Partly Cloudy chapter)",
}
assert set(RESULT_FILE) == set(ALL_STAGES), "update RESULT_FILE: the stages changed"


def notebooks_calling(stage: str) -> list[str]:
    """Notebooks that import the stage function from analysis_lib.pipeline."""
    found = []
    for nb in NOTEBOOKS:
        text = nb.read_text(encoding="utf-8")
        block = re.search(r"from analysis_lib\.pipeline import \(?([^)]*?)\)?\n(?!\s)", text, re.S)
        names = re.findall(r"\w+", block.group(1)) if block else []
        if stage in names:
            found.append(f"`notebooks/{nb.name}`")
    return found


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


rows = []
for stage, cls in ALL_STAGES.items():
    cli = importlib.util.find_spec(f"analysis_lib.cli.{stage.replace('-', '_')}") is not None
    package = "pipeline" if stage in STAGES else cls.__module__.removeprefix("analysis_lib.")
    fields = ", ".join(f"`{k}={short(v)}`" for k, v in cls.defaults().items())
    rows.append(
        {
            "stage": stage,
            "notebook": ", ".join(notebooks_calling(stage)) or "-",
            "CLI command": f"`python -m analysis_lib {stage}`" if cli else "-",
            "function / parameters": f"`{package}.{stage.replace('-', '_')}` / `{cls.__name__}`",
            "result file": RESULT_FILE[stage],
            "parameters (defaults)": fields,
        }
    )
header = list(rows[0])
lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
lines += ["| " + " | ".join(row[h] for h in header) + " |" for row in rows]
display(Markdown("\n".join(lines)))

# %% [markdown]
# The grid ({mod}`analysis_lib.grid`, `python -m analysis_lib run --config
# configs/default.yaml`) runs the notebooks with papermill for every model and writes
# `results/<grid>/<run>/` and the executed notebook to `book/runs/<grid>/<run>.ipynb`; the
# book's chapters read those results through {mod}`analysis_lib.results`. A run's digest
# includes a digest of the library code it imports ({mod}`analysis_lib.codehash`), so a
# change in the code re-runs exactly the runs that depend on it. A run starts as soon as
# the runs it depends on are done, not when their whole grid is. `make book` then builds
# the book with `book/_build.py`: it executes the pages `BOOK_JOBS` at a time (default:
# the cores) into the execution cache, then runs jupyter-book's build, which renders them
# from there; a stage that several pages
# read (the Alice comparison, the film atoms, the ISC) is computed once, under a file lock
# ({func}`analysis_lib.io.cache_lock`).
#
# ## The data flow
#
# ```text
#  stimulus (analysis_lib.stimuli)   model (analysis_lib.models)
#            \                          /
#             +---- extract ----------+        responses: (time, neuron)    [10_atoms]
#                       |
#                   decompose                   atoms.nc: dictionary (atom, neuron),
#                       |                       codes (time, atom)          [10_atoms]
#   bold (analysis_lib.datasets) --+
#                       |          |
#                     encode <-----+            encoding_<subject>.nc:
#                       |                       (atom, space) maps + nulls  [11_encode]
#                     group                     group.nc: (atom, space)     [12_group]
#                       |
#   atlas (networks.atlases) --> networks       networks.nc: (atom, network) [12_group]
#                       |
#                    metrics                    metrics.nc                  [12_group]
#                       |
#        results (analysis_lib.results) --> book chapters, publish
# ```
#
# The spaces the BOLD data live in (fsLR32k grayordinates, MNI volumes, ROIs) and their
# readers and writers are in {mod}`analysis_lib.spaces`; file I/O with atomic writes in
# {mod}`analysis_lib.io`.
#
# ## Where to add ...
#
# **A model.** Register it in {mod}`analysis_lib.models.registry` (its family and hook sites
# come from {mod}`analysis_lib.models.families`); the chapter {doc}`../teaching/add_model`
# walks through it, with a test. Add it to a grid in `configs/` to run it.
#
# **A dataset.** Write a module in `analysis_lib/datasets/` with `load(subject, ...)` returning
# a `(time, space)` `xarray.DataArray` and `subjects(...)` (and `ground_truth(...)` for a
# simulation), then add a {class}`~analysis_lib.datasets.DatasetInfo` entry to
# `analysis_lib.datasets.DATASETS`; `python -m analysis_lib datasets` then lists it and
# `encode --dataset NAME` loads it.
#
# **An atlas.** {mod}`analysis_lib.networks.atlases`: grayordinate atlases are named in
# `GRAYORDINATE_ATLASES`, coordinate atlases in `COORDINATE_ATLASES`, volume atlases in
# `VOLUME_ATLASES`; {func}`~analysis_lib.networks.atlases.load_atlas` also reads a user's
# file with a label table, without registration.
#
# **A metric.** One module per concept in `analysis_lib/metrics/` (chance, compare, modality,
# organization, polarity, redundancy), exported from `analysis_lib/metrics/__init__.py`;
# a metric comes with its chance level (a permutation baseline or a random twin) and an
# interval. The metrics stage ({func}`analysis_lib.pipeline.metrics`) assembles those the
# notebooks and book report.
