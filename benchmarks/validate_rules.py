"""Why the content-phantom validation predicts no pair: three pair tests on the tuning seeds.

Exact command (it produced benchmarks/results/validate_rules.json)::

    ANALYSIS_LIB_EXTRA_DATA=../shared/data OMP_NUM_THREADS=2 \\
        .venv/bin/python benchmarks/validate_rules.py --seeds 0-4 --stride 48

SIMULATED data only (``phantom-content`` and its null, tuning seeds 0-4, never the held-out
seeds 20-39). For each atom set, the book's Study A correspondence (group maps of the
encoding stage, voxel p < 0.01 uncorrected, Cole-Anticevic, 2,000 spin maps, the
network-level group test) is run once per seed, and the significant set is formed with
three p values of the same run:

``iut``      the pipeline's ``p = max(p_spatial, p_network)`` (what the book uses);
``spatial``  the spatial-null (spin) p alone;
``network``  the network-level group t test alone;

each with BH over atoms x networks at 0.05, scored against the truth of
``analysis_lib.validation_score`` (precision, recall, F1), with the null false-positive
rate (share of null-phantom tests with p < 0.05). Atom sets: ``oracle`` (the phantom's four
planted content features themselves: what a perfect model would give), ``timing``
(timing-only atoms, a negative control), ``tiny-bert`` (random weights, a negative control)
and ``smollm2`` (64 atoms of the pretrained model, the book's settings).

Nothing here chooses a setting for the book; it records where each test fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
from _records import machine, seed_list, write_record
from scipy.stats import false_discovery_control

OUT = Path(__file__).parent / "results" / "validate_rules.json"
SETS = ("oracle", "timing", "tiny-bert", "smollm2")
RULES = ("iut", "spatial", "network")


def _atoms(name: str, truth):
    from analysis_lib.pipeline import DecomposeParams, ExtractParams, decompose, extract
    from analysis_lib.validation import STUDY_A, timing_atoms

    if name == "oracle":
        f = truth["features"].rename(feature="atom")
        return f.assign_coords(atom=np.arange(f.sizes["atom"]))
    if name == "timing":
        return timing_atoms(truth)
    responses = extract(ExtractParams(model=name, stimulus=STUDY_A["stimulus"]), cache=True)
    params = DecomposeParams(
        n_atoms=STUDY_A["n_atoms"], alpha=STUDY_A["alpha"], seed=STUDY_A["decomposition_seed"]
    )
    return decompose(params, responses)["atoms"]


def _rule_p(corr, rule: str) -> np.ndarray:
    pn, ps = corr["p_network"].values, corr["p_spatial"].values
    return {"iut": np.fmax(pn, ps), "spatial": ps, "network": pn}[rule]


def _score(pred: np.ndarray, truth: np.ndarray) -> dict:
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def main() -> None:
    from analysis_lib import datasets
    from analysis_lib import validation_score as vs
    from analysis_lib.networks import load_atlas
    from analysis_lib.pipeline import NetworksParams, networks
    from analysis_lib.validation import STUDY_A, group_maps

    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--stride", type=int, default=48)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--n-perm-networks", type=int, default=2000)
    args = ap.parse_args()
    seeds, sets = seed_list(args.seeds), args.sets.split(",")
    truth0 = datasets.ground_truth("phantom-content", seed=0, stride=args.stride)
    atoms = {name: _atoms(name, truth0) for name in sets}
    record = {
        "description": __doc__.split("\n\n")[0],
        "command": "ANALYSIS_LIB_EXTRA_DATA=../shared/data OMP_NUM_THREADS=2 .venv/bin/python "
        f"benchmarks/validate_rules.py --seeds {args.seeds} --stride {args.stride}",
        "simulated": True,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": {**STUDY_A, "n_perm_networks": args.n_perm_networks, "stride": args.stride},
        "machine": machine(),
        "per_seed": [],
    }
    t0 = time.perf_counter()
    for seed in seeds:
        opts = {"seed": seed, "stride": args.stride}
        truth = datasets.ground_truth("phantom-content", **opts)
        for name in sets:
            d = atoms[name]
            tp = vs.truth_pairs(
                vs.carried_features(d, truth["features"]), truth["feature_network"]
            )
            corr = {}
            for ph in ("phantom-content", "phantom-content-null"):
                group, enc = group_maps(
                    d,
                    ph,
                    n_perm_group=STUDY_A["n_perm_group"],
                    seed=seed,
                    options=opts,
                    progress=False,
                )
                atlas = load_atlas(str(truth.attrs["atlas"]), like=group)
                params = NetworksParams(
                    atlas=str(truth.attrs["atlas"]),
                    correction=STUDY_A["correction"],
                    threshold=STUDY_A["threshold"],
                    n_perm=args.n_perm_networks,
                    seed=seed,
                )
                corr[ph] = networks(params, group, enc, atlas=atlas)
            for rule in RULES:
                p = _rule_p(corr["phantom-content"], rule)
                q = false_discovery_control(p.ravel(), method="bh").reshape(p.shape)
                p_null = _rule_p(corr["phantom-content-null"], rule)
                row = {
                    "seed": seed,
                    "atoms": name,
                    "rule": rule,
                    "n_truth": int(tp.values.sum()),
                    **_score(q < 0.05, tp.values),
                    "null_fpr": float((p_null < vs.NOMINAL).mean()),
                }
                record["per_seed"].append(row)
                print(json.dumps(row), flush=True)
        summary = {}
        for name in sets:
            for rule in RULES:
                rows = [r for r in record["per_seed"] if r["atoms"] == name and r["rule"] == rule]
                summary[f"{name}.{rule}"] = {
                    k: vs.mean_interval(r[k] for r in rows)
                    for k in ("precision", "recall", "f1", "null_fpr")
                }
        record["summary"] = summary
        record["seconds"] = round(time.perf_counter() - t0, 1)
        write_record(OUT, record)  # after every seed: a run cut short keeps what finished


if __name__ == "__main__":
    main()
