"""Publish the built book as site/<version>/ and site/latest/ with a release archive."""

from __future__ import annotations

import argparse

NAME = "publish"
HELP = "write site/<version>/, site/latest/, version switcher, archives with SHA-256"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--html", default="_build/html", help="built book (default _build/html)")
    parser.add_argument("--site", default="site", help="site folder (default site)")
    parser.add_argument("--results", default="results", help="results folder to archive")
    parser.add_argument("--version-label", help="version label (default: package version)")


def run(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..publish import publish

    out = publish(
        args.html, args.site, version=args.version_label or __version__, results_dir=args.results
    )
    print(f"published {out['pages']} pages; versions: {', '.join(out['versions'])}")
    for name, digest in out["archives"].items():
        print(f"  {digest}  {name}")
    return 0
