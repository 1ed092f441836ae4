"""Organisation metrics of one model from its atoms, group maps and network correspondence.

Thresholds the group maps as the correspondence did (its recorded correction and
threshold) and writes the scalar metrics (consistency, diversity, balance, networks
covered, assigned share, median R^2, map and sub-group Jaccard, multi-atom share) and the
atoms per network, through :func:`analysis_lib.pipeline.metrics`.

Example::

    python -m analysis_lib metrics --atoms atoms.nc --group group.nc --networks networks.nc \\
        --out metrics.nc
"""

from __future__ import annotations

import argparse

from ..pipeline import MetricsParams
from ._params import add_params_arguments, check_output, params_from_args

NAME = "metrics"
HELP = "organisation metrics of one model (consistency, diversity, redundancy)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--atoms", required=True, help="decomposition (.nc) from 'decompose'")
    parser.add_argument("--group", required=True, help="group maps (.nc) from 'group'")
    parser.add_argument("--networks", required=True, help="correspondence (.nc) from 'networks'")
    parser.add_argument("--labels", help="label table (id,name) for a user NIfTI atlas")
    add_params_arguments(parser, MetricsParams)
    parser.add_argument("--out", required=True, help="output netCDF file")


def run(args: argparse.Namespace) -> int:
    import json

    from ..io import read_netcdf, write_netcdf
    from ..networks import load_atlas
    from ..pipeline import metrics
    from ..pipeline.checks import check_group_result

    params = params_from_args(MetricsParams, args)
    out = check_output(args.out)
    decomposition = read_netcdf(args.atoms)
    group = read_netcdf(args.group)
    check_group_result(args.group, group)
    corr = read_netcdf(args.networks)
    if "assignment" not in corr:
        raise ValueError(f"{args.networks}: is not a correspondence result (no 'assignment')")
    atlas_name = json.loads(corr.attrs.get("params", "{}")).get("atlas") or corr.attrs.get("atlas")
    if not atlas_name:
        raise ValueError(f"{args.networks}: records no atlas")
    atlas = load_atlas(atlas_name, like=group, labels=args.labels)
    result = metrics(params, decomposition, group, corr, atlas)
    write_netcdf(result, out)
    for name, value in result.data_vars.items():
        if value.ndim == 0:
            print(f"{name:20s} {float(value):.4g}")
    print(f"wrote {out}")
    return 0
