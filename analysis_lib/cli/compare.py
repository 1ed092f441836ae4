"""What feature sets add to a base model on held-out real data (Study A, Alice).

For every usable subject and ROI: held-out R^2 of the base model and of base + each
feature set (blocked CV with a gap, penalties chosen in inner folds, himalaya banded ridge),
the unique variance dR^2, its group mean with a bootstrap 95 % interval, a sign-flip test
over subjects and Holm's correction over ROIs x feature sets. Results are cached in the
data home (the book page reads the same cache). Without ``--features`` it runs the
chapter's full comparison (the ``study-a`` preset: the controls, every model's atoms with
K sweeps, SmolLM2 layer PCs and every causal model's surprisal; the Qwen sets where their
weights are prepared); a first run extracts every model and takes a while. Examples::

    python -m analysis_lib compare --dataset alice --json
    python -m analysis_lib compare --dataset alice --base rate,sndpwr,motion \\
        --features authors,timing,atoms:minilm,surprisal:smollm2,atoms:tiny-bert --json
"""

from __future__ import annotations

import argparse
import json
import math

NAME = "compare"
HELP = "held-out unique variance (dR^2) of feature sets over a base model, with intervals"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..comparison.stage import CompareParams
    from ._params import add_params_arguments

    add_params_arguments(parser, CompareParams)
    parser.add_argument("-o", "--output", help="also write the result Dataset (netCDF) here")
    parser.add_argument("--json", action="store_true", help="print the group results as JSON")


def summary(ds) -> dict:
    """Group results of a compare Dataset as plain JSON-ready data."""

    def num(x):
        x = float(x)
        return None if math.isnan(x) else x

    rows = []
    for fs in ds["feature_set"].values:
        d = ds.sel(feature_set=fs)
        rows.append(
            {
                "feature_set": str(fs),
                "kind": str(d["kind"].values),
                "model": str(d["model"].values),
                "n_features": int(d["n_features"].values),
                "perplexity": num(d["perplexity"].values),
                "mean_over_rois": {
                    "dr2": num(d["roi_mean_dr2_mean"].values),
                    "ci95": [num(d["roi_mean_ci_low"].values), num(d["roi_mean_ci_high"].values)],
                    "p_signflip": num(d["roi_mean_p_signflip"].values),
                    "p_holm": num(d["roi_mean_p_holm"].values),
                },
                "rois": {
                    str(r): {
                        "dr2": num(d["dr2_mean"].sel(roi=r).values),
                        "ci95": [
                            num(d["dr2_ci_low"].sel(roi=r).values),
                            num(d["dr2_ci_high"].sel(roi=r).values),
                        ],
                        "p_signflip": num(d["p_signflip"].sel(roi=r).values),
                        "p_holm": num(d["p_holm"].sel(roi=r).values),
                    }
                    for r in ds["roi"].values
                },
            }
        )
    return {
        "subjects": [str(s) for s in ds["subject"].values],
        "excluded": json.loads(ds.attrs.get("excluded", "[]")),
        "base": ds.attrs.get("base"),
        "r2_base_mean": num(ds["r2_base"].mean()),
        "ceiling_mean": {str(r): num(ds["ceiling"].sel(roi=r).mean()) for r in ds["roi"].values},
        "feature_sets": rows,
        "params": json.loads(ds.attrs["params"]),
    }


def run(args: argparse.Namespace) -> int:
    from ..comparison.stage import CompareParams, cached_compare
    from ..io import write_netcdf
    from ._params import params_from_args

    params = params_from_args(CompareParams, args)
    ds = cached_compare(params)
    if args.output:
        write_netcdf(ds, args.output)
    out = summary(ds)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{len(out['subjects'])} subjects; base {out['base']}; mean dR^2 over ROIs:")
        for row in out["feature_sets"]:
            m = row["mean_over_rois"]
            print(
                f"  {row['feature_set']:<24} {m['dr2']:+.4f} [{m['ci95'][0]:+.4f}, "
                f"{m['ci95'][1]:+.4f}]  p_holm {m['p_holm']:.3g}"
            )
    return 0
