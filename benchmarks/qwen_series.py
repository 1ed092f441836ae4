"""Load times of the split-GGUF Qwen models and the extraction series on Alice.

Claims checked (issue 15):

1. Loading: the first load of a Qwen model dequantises its GGUF (transformers' GGUF
   loader); later loads read the cached safetensors copy written by
   ``python -m analysis_lib fetch-weights`` and are much faster.
2. Hook overhead of each model of the series on Alice at most 10 % over its plain forward
   pass, and peak memory of the Qwen2.5-Coder-1.5B extraction at most 12 GB (the overhead
   and memory are measured by ``benchmarks/extraction_overhead.py``, run here with the
   series' cases).

Needs the prepared weights (``python -m analysis_lib fetch-weights qwen2.5-0.5b
qwen2.5-1.5b``) and the Alice data (``ANALYSIS_LIB_EXTRA_DATA``). Exact command (results in
``benchmarks/results/qwen_series.json`` and ``benchmarks/results/extraction_series.json``)::

    .venv/bin/python benchmarks/qwen_series.py --repeats 3

Each measurement runs in a fresh subprocess (its own peak memory, no warm caches in the
process). The GGUF load is measured without writing anything.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ("qwen2.5-0.5b", "qwen2.5-1.5b")
SERIES_CASES = [
    "tiny-llama:alice:ffn_out",
    "minilm:alice:ffn_out",
    "smollm2:alice:ffn_out",
    "qwen2.5-0.5b:alice:ffn_out",
    "qwen2.5-1.5b:alice:ffn_out",
]

LOAD = r"""
import json, resource, sys, time
from transformers.utils import logging; logging.disable_progress_bar(); logging.set_verbosity_error()
from analysis_lib.weights import gguf_parts as gp
name, how = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if how == "gguf":
    spec = gp.get_split(name)
    gguf = gp.gguf_file(name)
    if gguf is None:
        raise SystemExit(f"{name}: not prepared; run {gp.fetch_command(name)}")
    module, tok = gp._load_from_gguf(spec, gguf)
else:
    if not gp.is_converted(name):
        raise SystemExit(f"{name}: no converted copy; run {gp.fetch_command(name)}")
    module, tok = gp.load_split_gguf(name)
s = time.perf_counter() - t
print("RESULT " + json.dumps({"model": name, "load": how, "seconds": s,
      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _run(args: list[str]) -> dict:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(args[:4])}... failed: {done.stderr.strip()[-800:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cases", nargs="+", default=SERIES_CASES)
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results" / "qwen_series.json"))
    args = parser.parse_args(argv)
    loads = []
    for name in MODELS:
        for how in ("gguf", "cached"):
            row = _run([sys.executable, "-c", LOAD, name, how])
            loads.append(row)
            print(
                f"{name:<14} {how:<7} load {row['seconds']:7.1f} s  peak "
                f"{row['peak_rss_bytes'] / 1e9:5.2f} GB",
                flush=True,
            )
    if not args.skip_overhead:
        series_out = HERE / "results" / "extraction_series.json"
        cmd = [
            sys.executable,
            str(HERE / "extraction_overhead.py"),
            "--repeats",
            str(args.repeats),
            "--out",
            str(series_out),
            "--cases",
            *args.cases,
        ]
        subprocess.run(cmd, check=True)
    report = {
        "command": "python benchmarks/qwen_series.py " + " ".join(argv or sys.argv[1:]),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "loads": loads,
        "overhead_results": "benchmarks/results/extraction_series.json",
    }
    from analysis_lib.io import atomic_write_text

    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
