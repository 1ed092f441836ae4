"""Combine per-subject encoding results into group maps with sign-flip inference.

The options are the fields of :class:`analysis_lib.pipeline.GroupParams`; the work is
:func:`analysis_lib.pipeline.group`, which refuses inputs that should not be combined (a
group result, the same subject or BOLD twice, other atoms, datasets or spaces) and, with
``--subjects``, takes exactly the subjects named.

Example::

    python -m analysis_lib group --inputs enc_s01.nc enc_s02.nc enc_s03.nc --out group.nc

Output: mean_beta, tstat, pvalue_perm, pvalue_fwe, qvalue (atom, voxel) and reliability
(atom), with the subjects' voxel coordinates.
"""

from __future__ import annotations

import argparse

from ..pipeline import GroupParams
from ._params import add_params_arguments, check_output, params_from_args

NAME = "group"
HELP = "group-level one-sample t maps of encoding results (sign-flip FWE, FDR, reliability)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", nargs="+", required=True, help="per-subject encode outputs")
    add_params_arguments(parser, GroupParams)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="output netCDF (written atomically)")


def run(args: argparse.Namespace) -> int:
    from ..io import write_netcdf
    from ..pipeline import group

    params = params_from_args(GroupParams, args)
    out = check_output(args.out)
    result = group(params, args.inputs, progress=not args.quiet)
    write_netcdf(result, out)
    print(
        f"wrote {out}: {result.attrs['n_subjects']} subjects, {result.sizes['atom']} atoms "
        f"x {result.sizes['voxel']} voxels, {result.attrs['n_signflips']} sign flips"
    )
    return 0
