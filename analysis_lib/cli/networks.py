"""Match group atom maps to network templates (Dice) with spatial-null p values.

Reads the output of ``python -m analysis_lib group``, thresholds each map sign-aware,
computes the Dice overlap with every network of the atlas and its p value against spin
permutations (grayordinates) or 3-D phase-randomised surrogates (volumes), assigns atoms
to networks and writes dice, p, p_fdr, assignment and coverage to a netCDF file. With
``--subjects`` (the per-subject encoding results the group maps came from; checked
against the group's atoms and subjects) each pair is also tested at the network level
(one-sample t of the subject betas averaged over the network) and ``p`` is the larger of
the two p values, with the default voxel threshold (uncorrected p < 0.01). The book's
calibrated rule (``--rule network-shift --min-r 0.16``, what the grid runs) refits each
subject's network-mean BOLD on circularly shifted atoms: it also needs ``--atoms`` (the
decomposition the subjects were fitted on) and the subjects' BOLD, loaded from the dataset
each encoding records (or ``--dataset``) and checked against the encoding's digest.
Options: the fields of :class:`analysis_lib.pipeline.NetworksParams`. Example::

    python -m analysis_lib networks --group group.nc --subjects enc_*.nc \
        --atoms atoms.nc --rule network-shift --min-r 0.16 --out networks.nc
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
    parser.add_argument(
        "--atoms", help="decomposition (.nc) the subjects were fitted on (rule network-shift)"
    )
    parser.add_argument(
        "--dataset",
        help="dataset of the subjects' BOLD (rule network-shift; default: as each subject "
        "encoding records it)",
    )
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
    extra = {}
    if params.rule == "network-shift":
        extra = _shift_inputs(args)
    result = networks(
        params, args.group, args.subjects, labels=args.labels, progress=not args.quiet, **extra
    )
    write_netcdf(result, out)
    for atom, net in zip(result["atom"].values, result["assignment"].values, strict=True):
        print(f"atom {atom}: {net}")
    print(f"wrote {out}")
    return 0


def _shift_inputs(args: argparse.Namespace) -> dict:
    """The atoms and each subject's BOLD for ``--rule network-shift``."""
    from ..io import read_netcdf
    from ..pipeline import subject_bold

    if not args.atoms or not args.subjects:
        raise ValueError(
            "--rule network-shift needs --atoms (the decomposition) and --subjects (the "
            "subject encodings): its null refits each subject's network-mean BOLD"
        )
    return {"atoms": read_netcdf(args.atoms), "bold": subject_bold(args.subjects, args.dataset)}
