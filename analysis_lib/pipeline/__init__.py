"""The pipeline's stages: one function per stage, one frozen parameters object each.

Every stage of the analysis (extract, decompose, encode, group, networks, metrics, and the
real-data stages such as ISC or the nested comparison) is a function ``stage(params, ...)``
taking one frozen :class:`StageParams` dataclass that holds the *single* set of defaults of
that stage. The command line (:mod:`analysis_lib.cli`) builds its options from the
dataclass fields (:func:`analysis_lib.cli._params.add_params_arguments`), the notebooks'
parameters cells use the same defaults, and a test fails when they disagree.

This module holds the shared pieces: :class:`StageParams` and :func:`param`.
"""

from __future__ import annotations

from .params import StageParams, param, stage_provenance

__all__ = ["StageParams", "param", "stage_provenance"]
