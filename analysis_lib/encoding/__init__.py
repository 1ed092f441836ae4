"""Voxel-wise encoding with atoms as fixed regressors, and valid statistical inference.

Public API
----------
:func:`fit_encoding`
    per subject: OLS / AR(1) GLM, autocorrelation-respecting permutation nulls
    (circular shifts, phase randomization), max-statistic FWE, BH FDR, blocked ridge CV.
:func:`group_encoding`
    across subjects: one-sample t maps, sign-flip permutations, FWE, FDR, reliability.
:func:`subject_maps`
    the per-subject maps stacked (subject, atom, voxel), for network-level group tests.
:mod:`analysis_lib.spaces`
    BOLD from NIfTI + mask, CIFTI, GIfTI, ROI tables; maps back to NIfTI/CIFTI/GIfTI
    (``analysis_lib.encoding.spaces`` is kept as an alias).
"""

from . import spaces
from .core import fit_encoding
from .group import group_encoding, subject_maps
from .inputs import read_confounds
from .nulls import fdr_bh

__all__ = ["fdr_bh", "fit_encoding", "group_encoding", "read_confounds", "spaces", "subject_maps"]
