"""Inter-subject correlation per region, with a null, network means and twin tests.

Examples::

    python -m analysis_lib isc --dataset partly-cloudy --method pairwise --summary median \
        --out isc.nc
    python -m analysis_lib isc --dataset partly-cloudy --pairs twins --out isc_twins.nc

Output: isc, isc_low, isc_high, null_mean, null_95, p, q, significant (voxel = region,
with the region coordinates); network_isc with intervals and p (network); with
``--pairs twins`` also twin_isc and control_isc (pair, voxel) and the per-network twin
tests (twins_*).
"""

from __future__ import annotations

import argparse

from ._params import add_params_arguments, params_from_args

NAME = "isc"
HELP = "inter-subject correlation per region (null, FDR, network means, twin pairs)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..isc import ISCParams

    parser.add_argument("--dataset", required=True, help="dataset name, e.g. partly-cloudy")
    parser.add_argument("--subjects", nargs="+", help="subject ids (default: every subject)")
    parser.add_argument("--root", help="data folder of the dataset (default: the data roots)")
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow unpickling the upstream region table (only for a trusted file)",
    )
    add_params_arguments(parser, ISCParams)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="output netCDF (written atomically)")


def run(args: argparse.Namespace) -> int:
    from ..io import write_netcdf
    from ..isc import ISCParams, isc, load_dataset_group

    params = params_from_args(ISCParams, args)
    bold, pairs, people = load_dataset_group(
        args.dataset,
        args.subjects,
        twins=params.pairs == "twins",
        root=args.root,
        allow_pickle=args.allow_pickle,
    )
    result = isc(params, bold, pairs=pairs, people=people, progress=False if args.quiet else None)
    write_netcdf(result, args.out)
    n_sig = int(result["significant"].sum())
    extra = f", {result.sizes['pair']} twin pairs" if "pair" in result.dims else ""
    print(
        f"wrote {args.out}: {result.attrs['n_subjects']} subjects x {result.sizes['voxel']} "
        f"regions, {params.method} {params.summary} ISC, {n_sig} regions at q < {params.alpha}"
        f"{extra}"
    )
    return 0
