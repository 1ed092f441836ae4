"""Train the tiny models on the default-movie world and report what they learned.

Trains ``tiny-clip-trained``, ``tiny-bridgetower-trained``, ``tiny-vit-trained`` and
``tiny-roberta-trained`` (those not cached yet) on (frame, caption) pairs rendered by the
generator of ``default-movie`` -- scenes disjoint from the movie's own -- and caches them
in the data home (``$ANALYSIS_LIB_DATA/models/trained``). Deterministic on CPU.

``--report`` prints held-out accuracies of each trained model next to its untrained twin
(image-to-caption retrieval for CLIP and BridgeTower, caption-class accuracy and a linear
probe for ViT, masked-token accuracy for RoBERTa) and the chance level.
"""

from __future__ import annotations

import argparse
import json

NAME = "train"
HELP = "train the tiny models on the default-movie world (cached) and report accuracies"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help="a trained model to train (repeatable; default: all four)",
    )
    parser.add_argument("--force", action="store_true", help="retrain even when cached")
    parser.add_argument(
        "--report",
        action="store_true",
        help="print held-out accuracies, trained vs untrained twin (trains what is missing)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def format_report(table) -> str:
    """Format :func:`analysis_lib.training.report` as an aligned text table."""
    import math

    header = (
        f"{'model':<26} {'metric':<16} {'trained':>8} {'untrained':>10} {'chance':>8} "
        f"{'x chance':>9} {'baseline':>9}"
    )
    lines = [header, "-" * len(header)]
    for row in table.itertuples(index=False):
        base = row.baseline
        base = "-" if base is None or (isinstance(base, float) and math.isnan(base)) else base
        base = f"{base:>9.3f}" if not isinstance(base, str) else f"{base:>9}"
        lines.append(
            f"{row.model:<26} {row.metric:<16} {row.trained:>8.3f} {row.untrained:>10.3f} "
            f"{row.chance:>8.4f} {row.ratio_to_chance:>9.1f} {base}"
        )
    n = int(table["n_heldout"].iloc[0]) if len(table) else 0
    lines.append("")
    lines.append(
        f"Held-out: {n} frames from scenes disjoint from the training scenes and from "
        "default-movie. retrieval_top1: the top caption among the 29 class captions is the "
        "frame's; retrieval_kind: it names the right scene kind; probe_accuracy: ridge "
        "read-out of frozen [CLS] features; mlm_accuracy: masked caption tokens (chance: one "
        "over the world's word pieces). baseline: majority class (ViT) or most frequent "
        "token (RoBERTa)."
    )
    return "\n".join(lines)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished child processes."""
    try:
        import resource
    except ImportError:  # not POSIX
        import time

        return time.process_time()
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def run(args: argparse.Namespace) -> int:
    import logging
    import time

    from .. import training

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = args.models or list(training.TRAINED)
    for name in names:
        if name not in training.TRAINED:
            raise ValueError(f"unknown trained model {name!r}; valid: {list(training.TRAINED)}")
    params = training.TrainingParams(seed=args.seed)
    start = time.perf_counter()
    cpu = _cpu_seconds()
    missing = [n for n in names if args.force or not training.is_trained(n, params)]
    folders = training.train_all(names, params, force=args.force, progress=not args.no_progress)
    if missing:
        print(
            f"trained {', '.join(missing)} in {time.perf_counter() - start:.1f} s "
            f"(CPU {_cpu_seconds() - cpu:.1f} s in all processes)"
        )
    for name, folder in folders.items():
        print(f"{name}: {folder}")
    if args.report:
        table = training.report(names, params)
        records = table.astype(object).where(table.notna(), None).to_dict("records")
        print(json.dumps(records, indent=2) if args.json else format_report(table))
    return 0
