"""Fit the voxel-wise encoding model of one subject: atoms as fixed regressors of BOLD.

The options are the fields of :class:`analysis_lib.pipeline.EncodeParams`; the work is
:func:`analysis_lib.pipeline.encode` (which refuses a subject with no fitted voxel).

Examples::

    python -m analysis_lib encode --atoms atoms.nc --dataset alice --subject s01 \\
        --n-perm 1000 --out results/encoding_s01.nc
    python -m analysis_lib encode --atoms atoms.nc --bold bold.nc --cv 0 --out enc.nc

The output netCDF holds beta, tstat, pvalue_param, pvalue_perm, pvalue_fwe, qvalue
(atom, voxel) and r2, r_cv, r2_cv (voxel), with the BOLD's voxel coordinates.
"""

from __future__ import annotations

import argparse

from ..pipeline import EncodeParams
from ._params import add_params_arguments, check_output, params_from_args

NAME = "encode"
HELP = "voxel-wise encoding of atoms with permutation inference (one subject)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--atoms", required=True, help="netCDF with an 'atoms' (time, atom) array")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="dataset name for analysis_lib.datasets.load")
    src.add_argument("--bold", help="netCDF with a 'bold' (time, voxel) array")
    parser.add_argument("--subject", help="subject id (with --dataset)")
    parser.add_argument(
        "--confounds",
        action="append",
        default=[],
        metavar="FILE",
        help="confound file (txt/tsv/csv, one row per volume); repeatable",
    )
    add_params_arguments(parser, EncodeParams)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="output netCDF (written atomically)")


def _read_array(path: str, variable: str):
    from ..io import read_netcdf

    ds = read_netcdf(path)
    if variable in ds:
        return ds[variable]
    if len(ds.data_vars) == 1:
        return next(iter(ds.data_vars.values()))
    raise ValueError(f"{path}: has no {variable!r} variable; it holds {sorted(ds.data_vars)}")


def run(args: argparse.Namespace) -> int:
    from ..io import read_netcdf, write_netcdf
    from ..pipeline import encode

    params = params_from_args(EncodeParams, args)
    out = check_output(args.out)
    if args.dataset and not args.subject:
        raise ValueError("--dataset needs --subject")
    atoms = read_netcdf(args.atoms)
    if "atoms" not in atoms:
        atoms = _read_array(args.atoms, "atoms")
    if args.dataset:
        from .. import datasets

        bold = datasets.load(args.dataset, args.subject)
    else:
        bold = _read_array(args.bold, "bold")
    source = args.bold or f"{args.dataset}:{args.subject}"
    try:
        result = encode(
            params,
            atoms,
            bold,
            args.confounds,
            subject=args.subject,
            dataset=args.dataset,
            paths={
                "atoms": args.atoms,
                "bold": args.bold,
                "confounds": ",".join(args.confounds) or None,
            },
            progress=not args.quiet,
        )
    except ValueError as exc:
        raise ValueError(f"atoms {args.atoms} with BOLD {source}: {exc}") from exc
    write_netcdf(result, out)
    print(
        f"wrote {out}: {result.sizes['atom']} atoms x {result.sizes['voxel']} voxels "
        f"({result.attrs['n_voxels_fitted']} fitted, {result.attrs['n_voxels_nan']} NaN, "
        f"{result.attrs['n_voxels_constant']} constant)"
    )
    return 0
