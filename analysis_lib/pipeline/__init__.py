"""The pipeline's stages: one function per stage, one frozen parameters object each.

Every stage of the analysis is a function ``stage(params, ...inputs) -> xarray.Dataset``
taking one frozen :class:`StageParams` dataclass that holds the *single* set of defaults of
that stage (the validated ones). The command line (:mod:`analysis_lib.cli`) builds its
options from the dataclass fields (:func:`analysis_lib.cli._params.add_params_arguments`),
the notebooks' parameters cells use the same defaults, and a test fails when they disagree.

========== ======================== ==================== =========================
stage      parameters               function             notebook / CLI
========== ======================== ==================== =========================
extract    :class:`ExtractParams`   :func:`extract`      10_atoms / ``extract``
decompose  :class:`DecomposeParams` :func:`decompose`    10_atoms / ``decompose``
encode     :class:`EncodeParams`    :func:`encode`       11_encode / ``encode``
group      :class:`GroupParams`     :func:`group`        12_group / ``group``
networks   :class:`NetworksParams`  :func:`networks`     12_group / ``networks``
metrics    :class:`MetricsParams`   :func:`metrics`      12_group / ``metrics``
========== ======================== ==================== =========================

Every result carries the same provenance attributes (:func:`stage_provenance`):
``stage``, ``analysis_lib_version``, ``params`` (the stage's parameters as JSON),
``input_<name>_sha256`` and, for files, ``input_<name>_path``. Stages that combine results
check them first (:mod:`analysis_lib.pipeline.checks`). Heavy dependencies (torch) are
imported inside the stage functions, so importing this package stays fast.
"""

from __future__ import annotations

from ._decompose import DecomposeParams, decompose
from ._encode import EncodeParams, encode
from ._extract import ExtractParams, extract
from ._group import GroupParams, encoding_files, group
from ._metrics import MetricsParams, metrics, significant_voxels
from ._networks import NetworksParams, networks, subject_bold
from .params import StageParams, param, stage_provenance

#: Every stage's parameters class, by stage name.
STAGES = {
    cls.stage: cls
    for cls in (
        ExtractParams,
        DecomposeParams,
        EncodeParams,
        GroupParams,
        NetworksParams,
        MetricsParams,
    )
}

__all__ = [
    "STAGES",
    "DecomposeParams",
    "EncodeParams",
    "ExtractParams",
    "GroupParams",
    "MetricsParams",
    "NetworksParams",
    "StageParams",
    "decompose",
    "encode",
    "encoding_files",
    "extract",
    "group",
    "metrics",
    "networks",
    "param",
    "significant_voxels",
    "stage_provenance",
    "subject_bold",
]
