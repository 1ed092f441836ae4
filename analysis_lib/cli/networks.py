"""Match group atom maps to network templates (Dice) with spatial-null p values.

Reads the output of ``python -m analysis_lib group`` (tstat and qvalue / pvalue_fwe over
(atom, voxel)), thresholds each map sign-aware, computes the Dice overlap with every
network of the atlas and its p value against spin permutations (grayordinates) or 3-D
phase-randomised surrogates (volumes), assigns atoms to networks and writes dice, p, p_fdr,
assignment and coverage to a netCDF file. With ``--subjects`` (the per-subject encoding
results the group maps came from) each pair is also tested at the network level (one-sample
t of the subject betas averaged over the network) and ``p`` is the larger of the two p values.
"""

from __future__ import annotations

import argparse

NAME = "networks"
HELP = "atom-to-network correspondence (Dice + spatial null) for group maps"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", required=True, help="group results (.nc) from 'group'")
    parser.add_argument("--atlas", required=True, help="atlas name or label image path")
    parser.add_argument("--labels", help="label table (id,name) for a user NIfTI atlas")
    parser.add_argument(
        "--correction",
        choices=("fdr", "fdr-param", "fwe", "uncorrected"),
        default="fdr-param",
        help="p values that threshold the maps: BH of the group's parametric p "
        "(fdr-param, default), the group qvalue over sign-flip p (fdr; with few subjects "
        "these p are discrete and BH may reject nothing), pvalue_fwe (fwe) or the "
        "parametric p (uncorrected)",
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="threshold on q / FWE p")
    parser.add_argument("--sign", choices=("both", "positive", "negative", "abs"), default="both")
    parser.add_argument("--n-perm", type=int, default=1000, help="spatial-null maps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subcortex", choices=("exclude", "fixed"), default="exclude")
    parser.add_argument(
        "--subjects",
        nargs="+",
        default=None,
        help="per-subject encoding results (.nc) for the network-level group test",
    )
    parser.add_argument("--out", required=True, help="output netCDF file")


def run(args: argparse.Namespace) -> int:
    from ..encoding import subject_maps
    from ..io import read_netcdf, sha256_file, write_netcdf
    from ..networks import correspondence, load_atlas

    group = read_netcdf(args.group)
    atlas = load_atlas(args.atlas, like=group, labels=args.labels)
    result = correspondence(
        group,
        atlas,
        threshold=args.alpha,
        correction=args.correction,
        sign=args.sign,
        n_perm=args.n_perm,
        seed=args.seed,
        subcortex=args.subcortex,
        subject_maps=subject_maps(args.subjects) if args.subjects else None,
    )
    result.attrs["input_group_sha256"] = sha256_file(args.group)
    write_netcdf(result, args.out)
    for atom, net in zip(result["atom"].values, result["assignment"].values, strict=True):
        print(f"atom {atom}: {net}")
    print(f"wrote {args.out}")
    return 0
