"""Combine per-subject encoding results into group maps with sign-flip inference.

Example::

    python -m analysis_lib group --inputs enc_s01.nc enc_s02.nc enc_s03.nc --out group.nc

Output: mean_beta, tstat, pvalue_perm, pvalue_fwe, qvalue (atom, voxel) and reliability
(atom), with the subjects' voxel coordinates.
"""

from __future__ import annotations

import argparse

NAME = "group"
HELP = "group-level one-sample t maps of encoding results (sign-flip FWE, FDR, reliability)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", nargs="+", required=True, help="per-subject encode outputs")
    parser.add_argument("--variable", default="beta", help="per-subject map to combine")
    parser.add_argument("--n-perm", type=int, default=1000, help="sign-flip permutations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="output netCDF (written atomically)")


def run(args: argparse.Namespace) -> int:
    from ..encoding import group_encoding
    from ..io import write_netcdf

    result = group_encoding(
        args.inputs,
        variable=args.variable,
        n_perm=args.n_perm,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
    )
    write_netcdf(result, args.out)
    print(
        f"wrote {args.out}: {result.attrs['n_subjects']} subjects, {result.sizes['atom']} atoms "
        f"x {result.sizes['voxel']} voxels, {result.attrs['n_signflips']} sign flips"
    )
    return 0
