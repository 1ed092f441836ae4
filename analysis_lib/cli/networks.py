"""Match group atom maps to network templates (Dice) with spatial-null p values.

Reads the output of ``python -m analysis_lib group``, thresholds each map sign-aware,
computes the Dice overlap with every network of the atlas and its p value against spin
permutations (grayordinates) or 3-D phase-randomised surrogates (volumes), assigns atoms
to networks and writes dice, p, p_fdr, assignment and coverage to a netCDF file. With
``--subjects`` (the per-subject encoding results the group maps came from; checked
against the group's atoms and subjects) each pair is also tested at the network level
(one-sample t of the subject betas averaged over the network) and ``p`` is the larger of
the two p values: the validated setting, with the default voxel threshold (uncorrected
p < 0.01). Options: the fields of :class:`analysis_lib.pipeline.NetworksParams`.
"""

from __future__ import annotations

import argparse

from ..pipeline import NetworksParams
from ._params import add_params_arguments, check_output, params_from_args

NAME = "networks"
HELP = "atom-to-network correspondence (Dice + spatial null) for group maps"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", required=True, help="group results (.nc) from 'group'")
    parser.add_argument(
        "--subjects",
        nargs="+",
        default=None,
        help="per-subject encoding results (.nc) for the network-level group test",
    )
    parser.add_argument("--labels", help="label table (id,name) for a user NIfTI atlas")
    add_params_arguments(parser, NetworksParams)
    # the threshold's former name (argparse would otherwise read --alpha as --alpha-assign)
    parser.add_argument(
        "--alpha",
        dest="threshold",
        type=float,
        default=argparse.SUPPRESS,
        help="former name of --threshold",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="output netCDF file")


def run(args: argparse.Namespace) -> int:
    from ..io import write_netcdf
    from ..pipeline import networks

    params = params_from_args(NetworksParams, args)
    out = check_output(args.out)
    result = networks(
        params, args.group, args.subjects, labels=args.labels, progress=not args.quiet
    )
    write_netcdf(result, out)
    for atom, net in zip(result["atom"].values, result["assignment"].values, strict=True):
        print(f"atom {atom}: {net}")
    print(f"wrote {out}")
    return 0
