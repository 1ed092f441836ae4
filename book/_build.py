"""``jupyter-book build``, with the book's pages executed ``--jobs`` at a time first.

``make book`` runs ``python book/_build.py --jobs N build . --path-output . [flags]``: the
arguments after ``--jobs N`` are those of ``jupyter-book build``. Before the build, every
page of ``_toc.yml`` that MyST-NB executes (a py:percent page, a MyST notebook; the
execution exclude patterns of ``_config.yml`` apply) and that the execution cache does
not hold yet is executed, ``N`` pages at a time (jupyter-book 1.x executes one page after
another while Sphinx reads them, leaving a core idle whenever a page runs on one). Each
page is read with the reader MyST-NB uses, executed in its folder as MyST-NB does
(``jupyter_cache``'s ``single_nb_execution``, the configured timeout) and stored in the
execution cache of ``_config.yml``; jupyter-book then finds every page there and renders
it: the same pages, executed the same way (each kernel with its share of the cores, below).

Pages start longest first, by the page times of the newest build profile record
(``benchmarks/results/book_profile*.json``), then in the order of the table of contents.
Each page's kernel gets its share of the cores as its BLAS and torch threads (as the
grid's kernels do, :func:`analysis_lib.grid.kernel_thread_env`): two pages that each run a
thread per core oversubscribe the cores, and a page then took three times as long.
A page that fails here is not cached: the build executes it again and reports its error
as usual. Stages that several pages read (the Alice comparison, the film atoms, the ISC)
are computed once: the first page to need one computes it under a file lock, the others
wait and read it (:func:`analysis_lib.io.cache_lock`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path, PurePosixPath

#: Written into ``_build`` by :func:`pre_execute`: jobs, wall time and counts of the step.
PAGE_RECORD = ".page_execution.json"


def book_config(root: Path) -> dict:
    """The Sphinx configuration jupyter-book derives from ``_config.yml``."""
    from jupyter_book.config import get_final_config

    config, _ = get_final_config(
        user_yaml=root / "_config.yml",
        cli_config={"latex_individualpages": False},  # what `jupyter-book build` passes
        sourcedir=root,
        use_external_toc=True,
    )
    return config


def notebook_pages(root: Path, config: dict) -> list[Path]:
    """Pages of the table of contents that MyST-NB executes, in the order of the toc.

    Parameters
    ----------
    root : Path
        The book's source folder (holds ``_toc.yml``).
    config : dict
        From :func:`book_config` (custom formats, execution exclude patterns).

    Returns
    -------
    list of Path
        Absolute paths of the py:percent pages (any custom format of ``_config.yml``), the
        MyST notebooks and the ``.ipynb`` pages not matched by an exclude pattern.
    """
    from myst_nb.core.read import is_myst_markdown_notebook
    from sphinx_external_toc.parsing import parse_toc_yaml

    suffixes = [".ipynb", ".md", *config.get("nb_custom_formats", {})]
    excluded = config.get("nb_execution_excludepatterns", [])
    pages = []
    for docname in parse_toc_yaml(root / "_toc.yml"):
        path = next(
            (root / f"{docname}{s}" for s in suffixes if (root / f"{docname}{s}").is_file()), None
        )
        if path is None:
            continue
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if any(rel.match(pattern) for pattern in excluded):
            continue
        if path.suffix == ".md" and not is_myst_markdown_notebook(path.read_text()):
            continue
        pages.append(path)
    return pages


def read_page(path: Path, config: dict):
    """The page as the notebook MyST-NB reads (its cache key is computed from this)."""
    import dataclasses

    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    formats = {
        suffix: (
            spec[0],
            spec[1] if len(spec) > 1 else {},
            bool(spec[2]) if len(spec) > 2 else False,
        )
        for suffix, spec in config.get("nb_custom_formats", {}).items()
    }
    md_config = MdParserConfig(enable_extensions=set(config.get("myst_enable_extensions", [])))
    nb_config = dataclasses.replace(NbParserConfig(), custom_formats=formats)
    text = path.read_text()
    reader = create_nb_reader(str(path), md_config, nb_config, text)
    if reader is None:
        raise ValueError(f"{path}: not a notebook page")
    return reader.read(text)


def cache_of(root: Path, config: dict, output: Path | None = None):
    """The execution cache MyST-NB uses: ``execute.cache`` of ``_config.yml`` (relative to
    the current folder, as MyST-NB reads it), else ``<output>/_build/.jupyter_cache``."""
    from jupyter_cache import get_cache

    path = config.get("nb_execution_cache_path")
    return get_cache(Path(path) if path else (output or root) / "_build" / ".jupyter_cache")


def recorded_page_seconds(root: Path) -> dict[str, float]:
    """Page times of the newest build profile record (``{toc path: seconds}``)."""
    records = []
    for path in (root / "benchmarks" / "results").glob("book_profile*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record.get("pages"), dict):
            records.append((str(record.get("date", "")), record["pages"]))
    return dict(max(records)[1]) if records else {}


def _execute(path: str, config: dict) -> tuple[str, str | None, float, str | None]:
    """Execute one page in its folder (in a worker process); returns the notebook as JSON."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = read_page(Path(path), config)
    result = single_nb_execution(
        notebook,
        cwd=str(Path(path).parent),
        allow_errors=bool(config.get("nb_execution_allow_errors", False)),
        timeout=config.get("nb_execution_timeout", 30),
        meta_override=True,
    )
    if result.err is not None:
        return path, None, result.time, f"{type(result.err).__name__}: {result.err}"
    return path, nbformat.writes(notebook), result.time, None


def pre_execute(root: Path, jobs: int, output: Path | None = None) -> dict[str, int]:
    """Execute the pages the execution cache lacks, ``jobs`` at a time, and cache them.

    Parameters
    ----------
    root : Path
        The book's source folder.
    jobs : int
        Pages executed at a time.
    output : Path, optional
        ``--path-output`` of the build (where the cache is when ``_config.yml`` names none).

    Returns
    -------
    dict
        Counts ``cached`` (already there), ``executed`` and ``failed``.
    """
    config = book_config(root)
    cache = cache_of(root, config, output)
    todo, counts = [], {"cached": 0, "executed": 0, "failed": 0}
    for path in notebook_pages(root, config):
        try:
            cache.match_cache_notebook(read_page(path, config))
            counts["cached"] += 1
        except KeyError:
            todo.append(path)
    seconds = recorded_page_seconds(root)
    order = {p: i for i, p in enumerate(todo)}
    todo.sort(key=lambda p: (-seconds.get(p.relative_to(root).as_posix(), 0.0), order[p]))
    start = time.perf_counter()
    if todo:
        print(f"executing {len(todo)} pages, {jobs} at a time (longest first)", flush=True)
        _run(todo, jobs, config, cache, root, counts)
    wall = time.perf_counter() - start
    print(f"pages executed in {wall:.0f} s", flush=True)
    # what benchmarks/book_profile.py reads: the measured wall time of this step
    record = (output or root) / "_build" / PAGE_RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"jobs": jobs, "wall_s": round(wall, 1), **counts}))
    return counts


def _set_environment(values: dict[str, str]) -> None:
    """Worker initializer: environment variables the page kernels inherit."""
    os.environ.update(values)


def _run(todo: list[Path], jobs: int, config: dict, cache, root: Path, counts: dict) -> None:
    """Execute ``todo`` on ``jobs`` processes; cache each page that succeeds."""
    import multiprocessing

    import nbformat
    from jupyter_cache.base import CacheBundleIn

    from analysis_lib.grid import kernel_thread_env

    context = multiprocessing.get_context("spawn")
    # each page's kernel gets its share of the cores (as the grid's kernels do): pages that
    # each start a thread per core oversubscribe the cores and spin in their thread pools
    threads = kernel_thread_env(jobs)
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_set_environment, initargs=(threads,)
    ) as pool:
        futures = [pool.submit(_execute, str(p), config) for p in todo]
        for done, future in enumerate(as_completed(futures), 1):
            path, text, runtime, error = future.result()
            rel = Path(path).relative_to(root)
            if error is not None:
                counts["failed"] += 1
                print(
                    f"  [{done}/{len(todo)}] {rel} failed ({error.splitlines()[0]}); "
                    "the build executes it again and reports the error",
                    flush=True,
                )
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    nbformat.reads(text, as_version=4), path, data={"execution_seconds": runtime}
                ),
                check_validity=False,
                overwrite=True,
            )
            counts["executed"] += 1
            print(f"  [{done}/{len(todo)}] {rel} executed in {runtime:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        usage="python book/_build.py [--jobs N] build PATH [jupyter-book build options]",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="pages executed at a time (default: the CPU cores this process may use; "
        "1: none before the build, jupyter-book executes them one after another)",
    )
    args, rest = parser.parse_known_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs = (cores or 1) if args.jobs is None else args.jobs
    if jobs < 1:
        parser.error(f"--jobs must be at least 1, got {jobs}")
    if len(rest) < 2 or rest[0] != "build":
        parser.error("expected the jupyter-book command 'build', its source folder and options")
    if jobs > 1:
        output = None
        for flag in ("--path-output", "-p"):
            if flag in rest[2:-1]:
                output = Path(rest[rest.index(flag, 2) + 1]).resolve()
        pre_execute(Path(rest[1]).resolve(), jobs, output)

    from jupyter_book.cli.main import main as jupyter_book

    # click exits with jupyter-book's status (non-zero when the build failed)
    jupyter_book(rest, prog_name="jupyter-book")
    return 0


if __name__ == "__main__":
    sys.exit(main())
