"""Record the held-out-seed validation on phantom-content (issue 14 item 4).

With ``--study b`` the same for the Study B path on ``phantom-movie-content`` (the book's
Study B settings, ``analysis_lib.validation.STUDY_B``; configurations tiny-clip-trained,
its random twin tiny-clip, the movie's timing-only atoms, the trained atoms shifted and the
planted features themselves as atoms, ``oracle``)::

    python benchmarks/validate_content.py --study b --stride 12 --n-perm-networks 0 \
        --rule network-shift --seeds 20-39 \
        --configs tiny-clip-trained,tiny-clip,timing,shifted,oracle \
        --out benchmarks/results/validate_movie_shift.json

Runs ``analysis_lib.validation.content_seed`` for each configuration (smollm2 atoms,
tiny-bert atoms, timing atoms), interleaved seed by seed, and rewrites
``benchmarks/results/validate_content.json`` (atomically) after every seed, so that a run
cut short still records what finished. Also records the phantom's leave-one-out ISC of
driven grayordinates beside the real Alice ROIs' and the content features' R^2 on the
timing regressors.

    python benchmarks/validate_content.py --stride 48 --n-perm-networks 1000 --seeds 20-39

With ``--rule network`` or ``--rule network-shift`` a rule of
``analysis_lib.validation.TUNED_RULES`` (effect bounds chosen on the tuning seeds by
``benchmarks/validate_tune.py``) forms the significant set; neither uses the spatial null,
so ``--n-perm-networks 0`` gives the same significant set faster::

    python benchmarks/validate_content.py --stride 48 --n-perm-networks 0 --rule network \\
        --seeds 20-39 --configs smollm2,tiny-bert,timing,shifted \\
        --out benchmarks/results/validate_content_network.json
    python benchmarks/validate_content.py --stride 12 --n-perm-networks 0 \\
        --rule network-shift --seeds 20-39 --configs smollm2,tiny-bert,timing,shifted \\
        --out benchmarks/results/validate_content_shift.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "validate_content.json"
CONFIGS = {
    "a": (
        ("smollm2", "model"),
        ("tiny-bert", "model"),
        (None, "timing"),
        ("smollm2", "shifted"),
        (None, "oracle"),
    ),
    "b": (
        ("tiny-clip-trained", "model"),
        ("tiny-clip", "model"),
        (None, "timing"),
        ("tiny-clip-trained", "shifted"),
        (None, "oracle"),
    ),
}


def isc_record_movie(stride: int) -> dict:
    """LOO ISC of the real Partly Cloudy regions beside the movie phantom's driven
    grayordinates (the movie phantom's SNR is the story phantom's; this shows where it
    falls on real movie data)."""
    from analysis_lib import datasets
    from analysis_lib.datasets import phantom_content as pc

    out: dict = {}
    if datasets.availability().get("partly-cloudy"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            subs = datasets.subjects("partly-cloudy")
            xs = [datasets.load("partly-cloudy", s).values for s in subs]
        n = min(a.shape[0] for a in xs)
        isc = pc.loo_isc(np.stack([a[:n] for a in xs]))
        out["partly_cloudy"] = {
            "what": f"LOO ISC of the region courses ({len(subs)} subjects x "
            f"{isc.shape[1]} regions, first {n} volumes)",
            "quartiles": list(np.percentile(isc, [25, 50, 75])),
        }
    p = pc.ContentParams(kind="movie-content", stride=stride)
    v = pc.driven_isc(p)
    out["phantom"] = {
        "what": "LOO ISC of single driven grayordinates, phantom-movie-content seed 0, "
        f"stride {stride}, {p.n_subjects} subjects",
        "snr": p.snr,
        "quartiles": list(np.percentile(v, [25, 50, 75])),
    }
    return out


def isc_record(stride: int) -> dict:
    from analysis_lib import datasets
    from analysis_lib.datasets import phantom_content as pc

    out: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        subs = datasets.subjects("alice")
        x = np.stack([datasets.load("alice", s).values for s in subs])
    isc = pc.loo_isc(x)
    out["alice"] = {
        "what": "LOO ISC of the 6 mm ROI mean courses (18 usable subjects x 6 ROIs)",
        "per_roi_median": dict(
            zip(
                map(str, datasets.load("alice", subs[0])["roi"].values),
                np.median(isc, 0),
                strict=True,
            )
        ),
        "quartiles": list(np.percentile(isc, [25, 50, 75])),
    }
    p = pc.ContentParams(stride=stride)
    v = pc.driven_isc(p)
    out["phantom"] = {
        "what": f"LOO ISC of single driven grayordinates, phantom-content seed 0, stride {stride}",
        "snr": p.snr,
        "quartiles": list(np.percentile(v, [25, 50, 75])),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    from analysis_lib import datasets, validation
    from analysis_lib import validation_score as vs
    from analysis_lib.cli.validate import _seeds

    ap = argparse.ArgumentParser()
    ap.add_argument("--study", choices=("a", "b"), default="a")
    ap.add_argument("--stride", type=int, default=12)
    ap.add_argument("--n-perm-networks", type=int, default=validation.STUDY_A["n_perm_networks"])
    ap.add_argument("--seeds", type=_seeds, default=validation.HELDOUT_SEEDS)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--configs",
        default=None,
        help="comma list of the study's configurations (a: smollm2, tiny-bert, timing, "
        "shifted, oracle; b: tiny-clip-trained, tiny-clip, timing, shifted, oracle); "
        "default: the first three",
    )
    ap.add_argument(
        "--rule",
        choices=("spatial+network", "network", "network-shift"),
        default="spatial+network",
        help="the book's significant set or a tuned rule (validation.TUNED_RULES)",
    )
    args = ap.parse_args(argv)
    settings = {"n_perm_networks": args.n_perm_networks}
    if args.rule != "spatial+network":
        settings |= validation.TUNED_RULES[args.rule]
    opts = {"stride": args.stride}
    phantom, _, base = validation.STUDIES[args.study]
    truth = datasets.ground_truth(phantom, **opts)
    record = {
        "description": f"Held-out-seed validation on the SIMULATED {phantom} "
        "(analysis_lib.validation.validate_content); recorded on the shared 2-core "
        "development machine. Simulated data validate the pipeline; they never rank models.",
        "command": "python " + " ".join(["benchmarks/validate_content.py", *sys.argv[1:]]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "study": args.study,
        "dataset": phantom,
        "settings": {**base, **settings, **opts},
        "seeds_requested": list(args.seeds),
        "timing_r2_raw": dict(
            zip(
                truth["feature"].values.tolist(),
                truth["timing_r2_raw"].values.tolist(),
                strict=True,
            )
        ),
        "timing_r2": dict(
            zip(truth["feature"].values.tolist(), truth["timing_r2"].values.tolist(), strict=True)
        ),
        "isc": isc_record(args.stride) if args.study == "a" else isc_record_movie(args.stride),
        "runs": {},
    }
    atoms = {}
    configs = CONFIGS[args.study]
    names = [
        {"timing": "timing", "shifted": "shifted", "oracle": "oracle"}.get(k, m)
        for m, k in configs
    ]
    wanted = args.configs.split(",") if args.configs else names[:3]
    unknown = set(wanted) - set(names)
    if unknown:
        ap.error(f"--configs: unknown {sorted(unknown)} for study {args.study}; use {names}")
    for (model, kind), name in zip(configs, names, strict=True):
        if name not in wanted:
            continue
        t0 = time.perf_counter()
        if kind == "oracle":  # the planted features themselves: is the phantom solvable?
            atoms[name] = validation.oracle_atoms(truth)
        else:
            atoms[name], _ = validation.study_atoms(model, kind, args.study, **opts)
        record["runs"][name] = {
            "atoms": kind,
            "model": model,
            "per_seed": [],
            "atoms_seconds": round(time.perf_counter() - t0, 1),
        }
    for seed in args.seeds:
        for name, run in record["runs"].items():
            t0 = time.perf_counter()
            r = validation.content_seed(
                atoms[name], seed, settings=settings, study=args.study, **opts
            )
            r["seconds"] = round(time.perf_counter() - t0, 1)
            run["per_seed"].append(r)
            run["summary"] = {
                k: vs.mean_interval(x[k] for x in run["per_seed"])
                for k in ("precision", "recall", "f1", "null_fpr")
            }
            record["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            tmp = args.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, indent=1, default=float))
            os.replace(tmp, args.out)
            print(name, seed, r["f1"], r["null_fpr"], r["seconds"], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
