"""Sphinx extension for the book: the analysis_lib version, and chapters without data.

The version is single-sourced from :data:`analysis_lib.__version__`; this extension puts
it in Sphinx's ``version``/``release``, the page title suffix and an announcement banner.

Chapters that call :func:`analysis_lib.book.require_data` without their real data show a
box instead of their results; this extension lists them at the end of the build log (a
warning of type ``analysis_lib.missing_data``) and, once the data are present, drops
their cached execution so that they run in full on the next build.
"""

from __future__ import annotations

import logging as logging_
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

from analysis_lib import __version__
from analysis_lib.book import MARKER

logger = logging.getLogger(__name__)


def _set_version(app, config) -> None:
    config.version = __version__
    config.release = __version__
    options = dict(config.html_theme_options or {})
    options["announcement"] = f"analysis_lib version {__version__}"
    config.html_theme_options = options
    config.html_title = f"{config.html_title or config.project} (v{__version__})"
    # pydata-sphinx-theme logs a console error when no default colour mode is set.
    config.html_context = {**(config.html_context or {}), "default_mode": "light"}


def _page_context(app, pagename, templatename, context, doctree) -> None:
    context["analysis_lib_version"] = __version__
    # Jupyter Book 1.x registers sphinx-thebe's inline config script twice, which raises
    # "Identifier 'THEBE_JS_URL' has already been declared" in the browser: keep one.
    seen, scripts = set(), []
    for js in context.get("script_files", []):
        attributes = tuple(sorted(getattr(js, "attributes", {}).items()))
        key = (getattr(js, "filename", None) or "", attributes)
        if key not in seen:
            seen.add(key)
            scripts.append(js)
    context["script_files"] = scripts


def _datasets_in(text: str) -> set[str]:
    import re

    return set(re.findall(MARKER + r'="([^"]+)"', text))


def _now_available(names) -> bool:
    from analysis_lib.datasets.fetch import missing

    return all(not missing(name) for name in names)


def _store(env) -> dict[str, list[str]]:
    if not hasattr(env, "analysis_lib_missing_data"):
        env.analysis_lib_missing_data = {}
    return env.analysis_lib_missing_data


def _drop_stale_cache(app) -> None:
    """Forget cached executions that showed a missing-data box when the data are back."""
    path = getattr(app.config, "nb_execution_cache_path", "") or ""
    if not path or not Path(path).is_dir():
        return
    try:
        from jupyter_cache import get_cache
    except ImportError:  # pragma: no cover - myst-nb depends on it
        return
    cache = get_cache(path)
    for record in cache.list_cache_records():
        try:
            nb = cache.get_cache_bundle(record.pk).nb
        except Exception:  # an unreadable record is myst-nb's business
            continue
        names: set[str] = set()
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                names |= _datasets_in(str(output.get("data", {}).get("text/html", "")))
        if names and _now_available(names):
            logger.info(f"data now present for {record.uri}: re-executing it")
            cache.remove_cache(record.pk)


def _outdated(app, env, added, changed, removed):
    """Chapters built without data are read again once the data are present."""
    return [doc for doc, names in _store(env).items() if _now_available(names)]


def _doctree_read(app, doctree) -> None:
    names: set[str] = set()
    for node in doctree.findall(nodes.raw):
        names |= _datasets_in(node.astext())
    store = _store(app.env)
    store.pop(app.env.docname, None)
    if names:
        store[app.env.docname] = sorted(names)


def _purge(app, env, docname) -> None:
    _store(env).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    store = _store(env)
    for doc, names in _store(other).items():
        if doc in docnames:
            store[doc] = names


_REQUIRE = re.compile(r"require_data\(\s*[\"']([\w-]+)[\"']")


class _QuietGlue(logging_.Filter):
    """Drop myst-nb's "no glue key" warnings of pages built without their data.

    Such a page ran only up to its :func:`~analysis_lib.book.require_data` box, so every
    number its prose glues is missing; :func:`_report` lists the page instead. Pages
    with their data keep every warning.
    """

    def __init__(self):
        super().__init__()
        self.sources: set[str] = set()
        self.dropped: set[tuple[str, str]] = set()  # (where, message): once per warning

    def filter(self, record) -> bool:
        glue = (getattr(record, "type", ""), getattr(record, "subtype", "")) == (
            "mystnb",
            "glue",
        ) or "[mystnb.glue]" in record.getMessage()
        if not glue or not self.sources:
            return True
        location = getattr(record, "location", None)
        if isinstance(location, tuple):  # (docname, line)
            location = location[0]
        location = str(location or "")
        if location in self.sources or any(location.startswith(f"{s}:") for s in self.sources):
            self.dropped.add((location, str(record.msg)))
            return False
        return True


_QUIET = _QuietGlue()


def _install_filter(app) -> None:
    for handler in logging_.getLogger("sphinx").handlers:
        if _QUIET not in handler.filters:
            handler.filters.insert(0, _QUIET)


def _pages_without_data(app, env, docnames) -> None:
    """Find the pages to be read whose require_data(...) names data that are missing."""
    from analysis_lib.datasets.fetch import SOURCES, missing

    absent = {name for name in SOURCES if missing(name)}
    _QUIET.sources.clear()
    _QUIET.dropped.clear()
    if not absent:
        return
    for doc in docnames:
        path = Path(env.doc2path(doc))
        try:
            names = set(_REQUIRE.findall(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
        if names & absent:
            _QUIET.sources.update((doc, str(path)))


def _report(app, exception) -> None:
    if exception is not None:
        return
    store = _store(app.env)
    if not store:
        return
    from analysis_lib.datasets.fetch import fetch_command

    pages = "; ".join(
        f"{doc} (needs {', '.join(names)}: {' && '.join(fetch_command(n) for n in names)})"
        for doc, names in sorted(store.items())
    )
    n_quiet = len(_QUIET.dropped)
    quiet = f" ({n_quiet} glued values left empty there)" if n_quiet else ""
    logger.warning(
        f"{len(store)} chapter(s) built without their real data, showing a box instead of "
        f"results{quiet}: {pages}",
        type="analysis_lib",
        subtype="missing_data",
    )


def setup(app):
    app.connect("config-inited", _set_version)
    app.connect("html-page-context", _page_context, priority=100)
    app.connect("builder-inited", _drop_stale_cache)
    app.connect("builder-inited", _install_filter)
    app.connect("env-before-read-docs", _pages_without_data)
    app.connect("env-get-outdated", _outdated)
    app.connect("doctree-read", _doctree_read)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _report)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
