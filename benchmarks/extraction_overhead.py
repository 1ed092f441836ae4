"""Hook overhead and peak memory of artificial-neuron extraction.

Claims checked (issue 3):

1. Hook overhead: recording every neuron of a site while running a story costs at most
   10 % more time than a plain forward pass of the same model over the same token
   windows (same inputs, same windows, no hooks).
2. Peak memory: during extraction, memory grows by at most twice one (tokens x neurons)
   float32 array above what the loaded model already holds (weights + runtime).

Exact command (results in ``benchmarks/results/extraction_overhead.json``)::

    .venv/bin/python benchmarks/extraction_overhead.py --repeats 3

Default cases: MiniLM ``ffn_out`` on the first 120 volumes (180 s) of ``default-story`` and
SmolLM2 ``ffn_hidden`` (46,080 neurons) on the first 120 volumes (240 s) of ``alice``;
``--cases smollm2:alice:ffn_hidden`` runs the whole story. Each case runs in a fresh subprocess (so peak memory is its own).
Timings interleave plain and hooked passes. The overhead is reported from the fastest
pass of each (``overhead_ratio``, robust to other processes sharing the CPU) and from the
medians (``overhead_ratio_median``); on a shared machine the ratio is what matters, not the
absolute seconds. ``hook_only_s`` times the hooks' own work (gather + scatter-add of one
window's activations into the word buffer) without the model, as a cross-check. Memory is the resident set size sampled
every 5 ms by a background thread (psutil).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = ["minilm:default-story:ffn_out:120", "smollm2:alice:ffn_hidden:120"]


class PeakRSS:
    """Sample this process's RSS in a thread; ``peak`` is the maximum seen (bytes)."""

    def __init__(self, interval: float = 0.005):
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def worker(
    model_name: str, stimulus_name: str, site: str, n_volumes: str | None, repeats: int
) -> dict:
    """Measure one case in this process and return the results.

    ``n_volumes`` (optional) keeps the first volumes of the stimulus (its later words are
    dropped), to bound the run time on a busy machine.
    """
    import gc
    import statistics

    import psutil
    import torch

    from analysis_lib import extraction
    from analysis_lib.models import find_sites, load_model
    from analysis_lib.stimuli import load_stimulus

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    grid = {"n_volumes": int(n_volumes)} if n_volumes else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # words after the kept volumes are dropped
        stim = load_stimulus(stimulus_name, **grid)
    loaded = load_model(model_name)
    sites = find_sites(loaded, site)
    n_neurons = sum(s.width for s in sites)
    weights_bytes = sum(p.numel() * p.element_size() for p in loaded.module.parameters())

    # the same windows extract() uses
    words = list(stim.words["word"])
    ids, _word_of = extraction.tokenize_words(loaded.tokenizer, words)
    prefix, suffix = extraction._special_tokens(loaded.tokenizer)
    context = min(extraction.DEFAULT_CONTEXT, loaded.max_positions)
    budget = context - len(prefix) - len(suffix)
    windows = extraction.plan_windows(
        ids.size, budget, min(context // 2, budget), loaded.family.causal
    )
    forward = extraction._text_forward(loaded)
    inputs = [
        torch.tensor([*prefix, *ids[w.start : w.stop].tolist(), *suffix])[None] for w in windows
    ]

    def plain():
        with torch.inference_mode():
            for x in inputs:
                forward(x, torch.ones_like(x))

    def hooked():
        extraction.story_word_features(
            loaded, stim, sites, context=context, stride=context // 2, progress=False
        )

    plain()  # warm-up
    hooked()

    # the hooks' own work for every window, without the model
    collector = extraction._Collector(sites, len(words))
    hooks = [collector._hook(i) for i in range(len(sites))]
    activations = {w: torch.randn(1, context, w) for w in {s.width for s in sites}}
    start = time.perf_counter()
    for w, x in zip(windows, inputs, strict=True):
        n_targets = w.t_stop - w.t_start
        collector.positions = torch.arange(n_targets) + (w.t_start - w.start) + len(prefix)
        collector.rows = torch.from_numpy(_word_of[w.t_start : w.t_stop])
        for i, s in enumerate(sites):
            act = activations[s.width][:, : x.shape[1]]
            hooks[i](None, (act,), act)  # the hook's own code, without the model
    hook_only_s = time.perf_counter() - start
    del collector
    t_plain, t_hooked = [], []
    for _ in range(repeats):
        for fn, store in ((plain, t_plain), (hooked, t_hooked)):
            gc.collect()
            start = time.perf_counter()
            fn()
            store.append(time.perf_counter() - start)

    # memory: the plain forward pass's own transient growth (attention scores and
    # activations), then the whole extraction's, measured the same way
    gc.collect()
    plain_base = psutil.Process().memory_info().rss
    with PeakRSS() as plain_peak:
        plain()
    gc.collect()
    baseline = psutil.Process().memory_info().rss
    with PeakRSS() as peak:
        start = time.perf_counter()
        responses = extraction.extract(loaded, stim, site=site, progress=False)
        t_extract = time.perf_counter() - start
    tokens_x_neurons = int(ids.size) * n_neurons * 4
    growth = peak.peak - baseline
    return {
        "model": model_name,
        "stimulus": stimulus_name,
        "stimulus_n_volumes": stim.n_volumes,
        "site": site,
        "n_tokens": int(ids.size),
        "n_words": len(words),
        "n_windows": len(windows),
        "context": context,
        "n_neurons": n_neurons,
        "n_volumes": int(responses.sizes["time"]),
        "torch_threads": torch.get_num_threads(),
        "plain_forward_s": t_plain,
        "hooked_s": t_hooked,
        "plain_median_s": statistics.median(t_plain),
        "hooked_median_s": statistics.median(t_hooked),
        "overhead_ratio": min(t_hooked) / min(t_plain) - 1.0,
        "overhead_ratio_median": statistics.median(t_hooked) / statistics.median(t_plain) - 1.0,
        "hook_only_s": hook_only_s,
        "overhead_goal": 0.10,
        "full_extract_s": t_extract,
        "weights_bytes": int(weights_bytes),
        "rss_after_load_bytes": int(baseline),
        "peak_rss_during_extract_bytes": int(peak.peak),
        "extract_memory_growth_bytes": int(growth),
        "budget_2x_tokens_x_neurons_bytes": 2 * tokens_x_neurons,
        "memory_growth_over_budget": growth / (2 * tokens_x_neurons),
        "plain_forward_memory_growth_bytes": int(plain_peak.peak - plain_base),
        "memory_growth_beyond_plain_forward_over_budget": max(
            0, growth - (plain_peak.peak - plain_base)
        )
        / (2 * tokens_x_neurons),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", nargs="+", default=DEFAULT_CASES, help="model:stimulus:site[:n_volumes]"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "results" / "extraction_overhead.json"))
    args = parser.parse_args(argv)
    if args.worker:
        fields = args.worker.split(":")
        fields += [None] * (4 - len(fields))
        print("RESULT " + json.dumps(worker(*fields, repeats=args.repeats)))
        return 0
    results = []
    for case in args.cases:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", case, "--repeats", str(args.repeats)],
            capture_output=True,
            text=True,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"case {case} failed")
        row = json.loads(lines[-1][len("RESULT ") :])
        results.append(row)
        print(
            f"{case:<36} plain {row['plain_median_s']:7.2f} s  hooked {row['hooked_median_s']:7.2f} s"
            f"  overhead {100 * row['overhead_ratio']:+6.1f} % (medians {100 * row['overhead_ratio_median']:+.1f} %,"
            f" hooks alone {row['hook_only_s']:.2f} s; goal <= 10 %)   memory growth "
            f"{row['extract_memory_growth_bytes'] / 2**20:7.1f} MiB = "
            f"{row['memory_growth_over_budget']:.2f} x budget "
            f"({row['budget_2x_tokens_x_neurons_bytes'] / 2**20:.0f} MiB); the plain forward "
            f"alone grows {row['plain_forward_memory_growth_bytes'] / 2**20:.1f} MiB"
        )
    from analysis_lib.io import atomic_write_text

    report = {
        "benchmark": "extraction_overhead",
        "command": ".venv/bin/python benchmarks/extraction_overhead.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "results": results,
    }
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
