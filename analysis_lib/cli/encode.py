"""Fit the voxel-wise encoding model of one subject: atoms as fixed regressors of BOLD.

Examples::

    python -m analysis_lib encode --atoms atoms.nc --dataset alice --subject s01 \\
        --n-perm 1000 --out results/encoding_s01.nc
    python -m analysis_lib encode --atoms atoms.nc --bold bold.nc --cv 0 --out enc.nc

The output netCDF holds beta, tstat, pvalue_param, pvalue_perm, pvalue_fwe, qvalue
(atom, voxel) and r2, r_cv, r2_cv (voxel), with the BOLD's voxel coordinates.
"""

from __future__ import annotations

import argparse

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
    parser.add_argument(
        "--confounds-drop-first",
        type=int,
        default=0,
        metavar="N",
        help="drop the first N rows of every confound file (volumes discarded from the BOLD)",
    )
    parser.add_argument("--n-perm", type=int, default=1000, help="null surrogates (0: none)")
    parser.add_argument("--null", choices=("shift", "phase"), default="shift")
    parser.add_argument("--noise-model", choices=("ols", "ar1"), default="ols")
    parser.add_argument("--cv", type=int, default=5, help="outer CV folds (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--chunk-size", type=int, default=None, help="voxels per chunk")
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
    from ..encoding import fit_encoding
    from ..io import write_netcdf

    atoms = _read_array(args.atoms, "atoms")
    if args.dataset:
        if not args.subject:
            raise ValueError("--dataset needs --subject")
        from .. import datasets

        bold = datasets.load(args.dataset, args.subject)
    else:
        bold = _read_array(args.bold, "bold")
    from ..encoding.inputs import read_confounds

    confounds = [read_confounds(p, drop_first=args.confounds_drop_first) for p in args.confounds]
    try:
        result = fit_encoding(
            atoms,
            bold,
            confounds or None,
            n_perm=args.n_perm,
            cv=args.cv or None,
            seed=args.seed,
            device=args.device,
            null=args.null,
            noise_model=args.noise_model,
            chunk_size=args.chunk_size,
            progress=not args.quiet,
        )
    except ValueError as exc:
        source = args.bold or f"{args.dataset}/{args.subject}"
        raise ValueError(f"atoms {args.atoms} with BOLD {source}: {exc}") from exc
    result.attrs["atoms_file"] = str(args.atoms)
    result.attrs["bold_source"] = args.bold or f"{args.dataset}:{args.subject}"
    write_netcdf(result, args.out)
    print(
        f"wrote {args.out}: {result.sizes['atom']} atoms x {result.sizes['voxel']} voxels "
        f"({result.attrs['n_voxels_fitted']} fitted, {result.attrs['n_voxels_nan']} NaN, "
        f"{result.attrs['n_voxels_constant']} constant)"
    )
    return 0
