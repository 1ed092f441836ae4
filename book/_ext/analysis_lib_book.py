"""Sphinx extension for the book: show the analysis_lib version on every page.

The version is single-sourced from :data:`analysis_lib.__version__`; this extension puts
it in Sphinx's ``version``/``release``, the page title suffix and an announcement banner.
"""

from __future__ import annotations

from analysis_lib import __version__


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


def setup(app):
    app.connect("config-inited", _set_version)
    app.connect("html-page-context", _page_context, priority=100)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
