"""Nested held-out comparison of feature sets over a base model (Study A on real brains).

:mod:`~analysis_lib.comparison.stage`
    :class:`CompareParams` and :func:`compare` (the ``compare`` CLI command).
:mod:`~analysis_lib.comparison.nested`
    held-out R^2 of base and base + feature set (blocked CV, inner penalty choice, himalaya).
:mod:`~analysis_lib.comparison.features`
    feature-set specs (authors, timing, atoms, layer PCs, surprisal).
:mod:`~analysis_lib.comparison.ceiling`
    the one-factor noise ceiling on the R^2 scale.
:mod:`~analysis_lib.comparison.stats`
    bootstrap interval, sign-flip test, Holm.
"""

from .stage import CompareParams, cached_compare, compare, summary_table

__all__ = ["CompareParams", "cached_compare", "compare", "summary_table"]
