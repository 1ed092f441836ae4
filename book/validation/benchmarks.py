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
# # Benchmarks
#
# Every performance claim of this project is measured **side by side** with a reference
# implementation in one run, by a script in `benchmarks/` whose docstring gives the exact
# command; the script writes its results, with a description of the machine, to
# `benchmarks/results/<name>.json`. Benchmarks are not run when the book is built (they
# take minutes to hours): this page reads the JSON files that are in the repository
# and shows them as they are. A benchmark without a results file is listed as **not
# run**; no number on this page is typed by hand.
#
# Timings depend on the machine and, on a shared machine, on its load (the JSON files
# record the load average before and after). Ratios measured in one run are more
# robust than absolute times.

# %% tags=["remove-cell"]
import ast
import json
import pprint
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue as myst_glue


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


BENCH = Path("../../benchmarks")
RATIO = re.compile(r"(ratio|speedup|pass|passed|overhead)", re.IGNORECASE)
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:tmp|work|root|home|Users)/[^\s'\",\]]*")


def exact_command(script: Path) -> str:
    """The command given in the script's docstring (the indented line after 'command')."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if "command" in line.lower():
            block = []
            for nxt in lines[i + 1 :]:
                if not nxt.strip():
                    if block:
                        break
                    continue
                if not nxt.startswith("    "):
                    break
                block.append(nxt.strip())
            if block:
                return " ".join(b.rstrip("\\").strip() for b in block)
    return f".venv/bin/python benchmarks/{script.name}"


def flatten(obj, prefix: str = "") -> dict:
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix.rstrip(".")] = obj
    return out


names = sorted(
    {p.stem for p in BENCH.glob("*.py") if not p.name.startswith("_")}
    | {p.stem for p in BENCH.glob("results/*.json")}
)
status, details = [], {}
for name in names:
    script = BENCH / f"{name}.py"
    result = BENCH / "results" / f"{name}.json"
    command = exact_command(script) if script.is_file() else "(script not in this copy)"
    row = {"benchmark": name, "exact command": command}
    if result.is_file():
        data = json.loads(result.read_text())
        flat = flatten(data)
        row["status"] = "run"
        row["exact command"] = data.get("command", row["exact command"])
        machine = data.get("machine", {})
        row["machine"] = ", ".join(
            f"{k}={machine[k]}" for k in ("cpu_count", "torch", "threads") if k in machine
        )
        details[name] = {
            k: v
            for k, v in flat.items()
            if RATIO.search(k.rsplit(".", 1)[-1]) and isinstance(v, int | float | bool)
        }
        details[name + ":all"] = flat
    else:
        row["status"] = "not run (no results file)"
        row["machine"] = ""
    status.append(row)
status = pd.DataFrame(status)
glue("bench_n_scripts", len(status), display=False)
glue("bench_n_run", int((status.status == "run").sum()), display=False)
glue("bench_not_run", ", ".join(status[status.status != "run"].benchmark) or "none", display=False)

# %% [markdown]
# Of the {glue:text}`bench_n_scripts` benchmark scripts, {glue:text}`bench_n_run` have
# results in this copy of the repository; not run: {glue:text}`bench_not_run`.

# %% tags=["remove-input"]
status[["benchmark", "status", "machine", "exact command"]].style.hide(axis="index")

# %% [markdown]
# ## Resources: time and memory
#
# Every measurement of wall time (and, where the script recorded it, peak resident memory)
# in the results files, one row each, with the command that produced it, the number of CPU
# cores of the machine and the date of the record (the last commit of its results file;
# "uncommitted" when the file is newer than the repository). The "what" column names the
# entry of the JSON file and its identifying fields (model, problem size, variant).

# %% tags=["remove-input"]
import subprocess

TIME_KEYS = ("wall_s", "fit_wall_s", "time_s", "full_extract_s")
MEMORY_KEYS = {
    "peak_rss_bytes": 1e-9,
    "peak_rss_overall_bytes": 1e-9,
    "peak_rss_during_extract_bytes": 1e-9,
    "peak_rss_gb": 1.0,
}
ID_KEYS = ("model", "stimulus", "label", "n_neuron", "n_neurons", "voxels", "twin")


def record_date(path: Path) -> str:
    """Date of the last commit of ``path`` (ISO), or why there is none."""
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%cs", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (no git)"
    if out.returncode != 0:
        return "unknown (not a git checkout)"
    return out.stdout.strip() or "uncommitted"


def measurements(obj, where: str, command: str, cores):
    """Rows (what, wall s, peak GB, command, cores) of every timed entry of a JSON tree."""
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from measurements(item, f"{where}[{i}]", command, cores)
        return
    if not isinstance(obj, dict):
        return
    command = obj.get("command", command) if isinstance(obj.get("command"), str) else command
    machine = obj.get("machine") if isinstance(obj.get("machine"), dict) else {}
    cores = machine.get("cpu_count", obj.get("cpu_count", cores))
    timed = [k for k in TIME_KEYS if isinstance(obj.get(k), int | float)]
    if timed:
        ids = ", ".join(f"{k}={obj[k]}" for k in ID_KEYS if isinstance(obj.get(k), str | int))
        memory = next(
            (obj[k] * f for k, f in MEMORY_KEYS.items() if isinstance(obj.get(k), int | float)),
            np.nan,
        )
        yield {
            "what": f"{where or 'total'}" + (f" ({ids})" if ids else ""),
            "wall time (s)": float(obj[timed[0]]),
            "peak memory (GB)": float(memory),
            "cores": cores,
            "command": command,
        }
    for k, v in obj.items():
        if isinstance(v, dict | list) and k != "machine":
            yield from measurements(v, f"{where}.{k}" if where else k, command, cores)


resource_rows = []
for name in status[status.status == "run"].benchmark:
    path = BENCH / "results" / f"{name}.json"
    data = json.loads(path.read_text())
    date = record_date(path)
    for row in measurements(data, "", data.get("command", ""), None):
        resource_rows.append({"benchmark": name, **row, "recorded": date})
resources = pd.DataFrame(resource_rows)
glue("bench_n_measurements", len(resources), display=False)
if resources.empty:
    display(Markdown("*No results file records a wall time.*"))
else:
    display(
        resources.style.format(
            {"wall time (s)": "{:.1f}", "peak memory (GB)": "{:.2f}"}, na_rep="not recorded"
        ).hide(axis="index")
    )

# %% [markdown]
# ## The model-size series of the Alice chapter
#
# Load times of the two Qwen2.5-Coder models (first load from the assembled GGUF, which
# transformers dequantises; later loads from the converted copy in the data home) and, for
# every model of the series, the extraction on the whole Alice story with the hooks beside
# its plain forward pass in the same process (`benchmarks/qwen_series.py`, which runs
# `benchmarks/extraction_overhead.py` on the series' cases). Targets of issue 15: hook
# overhead at most 10 %, peak memory of the 1.5B extraction at most 12 GB. Peak memory is
# the process's maximum resident set; a load from the converted copy maps the safetensors
# file, whose pages count only once they are read, so its peak is small until the first
# forward pass.

# %% tags=["remove-input"]
PEAK_GOAL_GB = 12  # issue 15: peak memory of the 1.5B extraction
BOOK_GOAL_MIN = 30  # issue 15: a cold make book with the series, on 2 cores
series_path = BENCH / "results" / "qwen_series.json"
overhead_path = BENCH / "results" / "extraction_series.json"
if series_path.is_file() and overhead_path.is_file():
    series = json.loads(series_path.read_text())
    over = json.loads(overhead_path.read_text())
    display(
        Markdown(
            f"Recorded run: `{series['command']}` (overheads: `{over['command'].split(' --out')[0]}"
            f" ...`), recorded {record_date(series_path)}."
        )
    )
    loads = pd.DataFrame(
        [
            {
                "model": r["model"],
                "load": {"gguf": "first (GGUF)", "cached": "cached copy"}[r["load"]],
                "wall time (s)": r["seconds"],
                "peak memory (GB)": r["peak_rss_bytes"] / 1e9,
            }
            for r in series["loads"]
        ]
    )
    display(
        loads.style.format({"wall time (s)": "{:.1f}", "peak memory (GB)": "{:.2f}"}).hide(
            axis="index"
        )
    )
    rows = []
    for r in over["results"]:
        rows.append(
            {
                "model": r["model"],
                "neurons": r["n_neurons"],
                "plain forward (s, median)": r["plain_median_s"],
                "hooked (s, median)": r["hooked_median_s"],
                "repeats": len(r["plain_forward_s"]),
                "overhead (median)": r["overhead_ratio_median"],
                "within 10 %": r["overhead_ratio_median"] <= r["overhead_goal"],
                "peak memory in extraction (GB)": r["peak_rss_during_extract_bytes"] / 1e9,
            }
        )
    ser = pd.DataFrame(rows)
    big = ser[ser.model == "qwen2.5-1.5b"]
    if not big.empty:
        peak = float(big["peak memory in extraction (GB)"].iloc[0])
        above = ser[~ser["within 10 %"]]
        short = list(above.model[above["plain forward (s, median)"] < 0.5])
        text = (
            f"Peak memory of the Qwen2.5-Coder-1.5B extraction: {peak:.2f} GB, "
            f"{'within' if peak <= PEAK_GOAL_GB else 'above'} the {PEAK_GOAL_GB} GB target. "
            "Overhead within 10 % for: "
            + (", ".join(ser.model[ser["within 10 %"]]) or "none")
            + "; above it for: "
            + (", ".join(above.model) or "none")
            + "."
        )
        if short:
            text += (
                f" Of those, {', '.join(short)} {'runs' if len(short) == 1 else 'run'} a "
                "plain pass under half a second, where the hooks' fixed costs dominate the "
                "ratio."
            )
        display(Markdown(text))
    display(
        ser.style.format(
            {
                "plain forward (s, median)": "{:.2f}",
                "hooked (s, median)": "{:.2f}",
                "overhead (median)": "{:+.1%}",
                "peak memory in extraction (GB)": "{:.2f}",
            }
        ).hide(axis="index")
    )
else:
    display(Markdown("*Not run in this copy: `benchmarks/results/qwen_series.json` is missing.*"))
book_path = BENCH / "results" / "book_series.json"
if book_path.is_file():
    bs = json.loads(book_path.read_text())
    walls = {c["weights"]: c["wall_s"] for c in bs["cases"]}
    display(
        Markdown(
            f"What the series adds to a cold build (`{bs['command']}`, recorded "
            f"{record_date(book_path)}): the Alice chapter ran {walls[False]:.0f} s without "
            f"the Qwen weights and {walls[True]:.0f} s with them, each in a fresh data home, "
            f"so the series adds {bs['series_added_s']:.0f} s "
            f"({bs['series_added_s'] / 60:.1f} min) to `make book`; only the Alice "
            "comparison computes it (the chapter and the introduction's findings box read "
            "one cached run). The cold `make book` time itself is printed by `.ci/run` "
            "(`make book finished in ... s`)."
        )
    )
else:
    bs = None
    display(Markdown("*`benchmarks/book_series.py` has not been run in this copy.*"))
pass_path = BENCH / "results" / "story_pass.json"
if pass_path.is_file():
    sp = json.loads(pass_path.read_text())
    display(
        Markdown(
            "A causal model's neurons and its word surprisal come from one pass over the "
            "story (`surprisal.cached_story_pass`: the LM head applied to the final hidden "
            "state at each window's targets), beside the reference of two passes, the "
            f"extraction and then the surprisal (`{sp['command'].strip()}`, recorded "
            f"{record_date(pass_path)}; each in a fresh process and an empty data home)."
        )
    )
    display(
        pd.DataFrame(sp["rows"])
        .rename(
            columns={
                "separate_s": "two passes (s)",
                "one_pass_s": "one pass (s)",
                "ratio": "ratio",
                "responses_identical": "same responses",
                "max_abs_surprisal_diff_nats": "max |surprisal diff| (nats)",
            }
        )
        .drop(columns=["perplexity"])
        .style.format({"two passes (s)": "{:.1f}", "one pass (s)": "{:.1f}", "ratio": "{:.2f}"})
        .hide(axis="index")
    )
profile_path = BENCH / "results" / "book_profile.json"
series_profile_path = BENCH / "results" / "book_profile_series.json"


def profile_text(bp: dict, path) -> str:
    """One sentence on where a recorded cold build spent its time."""
    return (
        f"`{bp['command']}`, recorded {record_date(path)}, read from a tree that a cold "
        f"`make book` built at commit `{bp['commit'][:7]}`"
        + (" with the Qwen weights in its fresh data home" if bp.get("with_series") else "")
        + f": {bp['make_book_s']:.0f} s in all, of which the grid's runs about "
        f"{bp['grid_wall_estimate_s']:.0f} s ({bp['grid_notebook_s']:.0f} s of notebook "
        f"execution on {bp['workers']} single-threaded workers), the pages' execution "
        + (
            f"{bp['page_wall_s']:.0f} s ({bp['page_execution_s']:.0f} s of page execution, "
            f"{bp['page_jobs']} pages at a time)"
            if bp.get("page_jobs", 1) > 1
            else f"{bp['page_execution_s']:.0f} s (one page after another)"
        )
        + f" and Sphinx and the rest {bp['other_s']:.0f} s"
    )


def verdict(seconds: float) -> str:
    return ("within" if seconds < BOOK_GOAL_MIN * 60 else "above") + (
        f" the {BOOK_GOAL_MIN}-minute target"
    )


if profile_path.is_file():
    bp = json.loads(profile_path.read_text())
    text = f"Where a cold `make book` spends its time ({profile_text(bp, profile_path)})."
    if series_profile_path.is_file():
        sp_ = json.loads(series_profile_path.read_text())
        boots = [r["machine"].get("boot_time") for r in (bp, sp_)]
        same_machine = boots[0] is not None and boots[0] == boots[1]
        ratio = sp_["make_book_s"] / bp["make_book_s"]
        text += (
            f" A cold build **with the series** ({profile_text(sp_, series_profile_path)}) "
            f"took {sp_['make_book_s']:.0f} s ({sp_['make_book_s'] / 60:.1f} min), "
            f"{verdict(sp_['make_book_s'])} on its machine. "
        )
        if same_machine:
            drift = sp_["grid_notebook_s"] / bp["grid_notebook_s"]
            text += (
                "The two builds ran one after the other on the same machine: the one with "
                f"the series took {ratio:.2f} times as long. That ratio is only as good as "
                "the machine was steady: the grid, which does not run the series, took "
                f"{sp_['grid_notebook_s']:.0f} s of notebook execution in the build with "
                f"the series and {bp['grid_notebook_s']:.0f} s in the one without "
                f"(ratio {drift:.2f}; at 1 the machine ran at the same speed in both)."
            )
        else:
            text += (
                "The two records come from different machines (their boot times differ or one is not recorded), "
                "so their ratio is not shown; rerun both on one machine."
            )
    elif bs:
        total = bp["make_book_s"] + bs["series_added_s"]
        text += (
            f" With the series added, a cold build takes about {total:.0f} s "
            f"({total / 60:.1f} min): {verdict(total)}."
        )
    display(Markdown(text))
    costs = [
        {"part": f"grid {g}", "seconds": v["sum_s"] / bp["workers"]}
        for g, v in bp["grids"].items()
    ] + [{"part": f"page {p}", "seconds": t} for p, t in bp["pages"].items()]
    display(
        pd.DataFrame(costs)
        .sort_values("seconds", ascending=False)
        .head(12)
        .style.format({"seconds": "{:.0f}"})
        .hide(axis="index")
    )
else:
    display(Markdown("*`benchmarks/book_profile.py` has not been run in this copy.*"))

# %% [markdown]
# ## Side-by-side ratios
#
# For each benchmark that was run, every ratio, speed-up, overhead and pass flag that
# its results file records (the key is the path inside the JSON file; the script's
# docstring defines each quantity and which side is the reference).

# %% tags=["remove-input"]
for name in status[status.status == "run"].benchmark:
    display(Markdown(f"### `{name}`"))
    ratios = details[name]
    if ratios:
        display(
            pd.DataFrame({"quantity": list(ratios), "value": list(ratios.values())})
            .style.format({"value": "{:.4g}"})
            .hide(axis="index")
        )
    else:
        display(Markdown("*(no ratio recorded in the results file)*"))

# %% [markdown]
# ## Full results
#
# Every value of every results file, for reference.


# %% tags=["hide-output"]
def full_value(key: str, value) -> str:
    """``key: value`` with a list or table value folded into lines of at most ~100
    characters (a line of thousands of characters is unreadable, and slow to render)."""
    text = (
        value
        if isinstance(value, str)
        else pprint.pformat(value, width=96, compact=True, sort_dicts=False)
    )
    # paths recorded on the benchmark machine say nothing about this copy
    text = MACHINE_PATH.sub("<path on the benchmark machine>", text)
    lines = [piece for line in text.splitlines() for piece in textwrap.wrap(line, 96) or [""]]
    return f"  {key}: " + "\n      ".join(lines)


for name in status[status.status == "run"].benchmark:
    print(f"== {name}")
    print("\n".join(full_value(k, v) for k, v in details[name + ":all"].items()))
