"""837 benchmark: lines per second reading X12 837 files, beside Parquet, on the same lines.

Generates (cached in benchmarks/data/) a Parquet file of N lines with `claims-audit sample
generate`, writes the same lines as an 837 interchange (`claims_audit.x12.write`, 837P + 837I),
then times, for each of the two files: `read_input` in this process (ingest alone: canonical
columns and rejects), and `claims-audit run` as a subprocess (the whole audit; wall seconds and
peak RSS of its process tree). Results go to benchmarks/results/x12-<date>.json and a table.

    python -m benchmarks.x12_bench --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.run import DATA, RESULTS, _cli, measure

DATA_DIR = DATA / "x12"


def _generate(rows: int, seed: int) -> tuple[Path, dict]:
    path = DATA_DIR / f"lines-{rows}-s{seed}.parquet"
    if path.exists():
        return path, {"cached": True}
    cmd = [*_cli(), "sample", "generate", "--rows", str(rows), "--seed", str(seed)]
    stats = measure([*cmd, "--out", str(path), "--quiet"], DATA_DIR / "logs" / "generate.log")
    return path, {"cached": False, **stats}


def _write_837(parquet: Path) -> tuple[Path, dict]:
    from claims_audit.x12.write import write_837

    target = parquet.with_suffix(".837")
    lines = pq.read_table(parquet).to_pandas()
    start = time.perf_counter()
    write_837(lines, target)
    seconds = time.perf_counter() - start
    return target, {"seconds": round(seconds, 3), "lines_per_s": round(len(lines) / seconds)}


def _ingest(path: Path) -> dict:
    from claims_audit.ingest import read_input

    start, cpu = time.perf_counter(), time.process_time()
    raw = read_input(path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": round(seconds, 3),
        "cpu_s": round(cpu, 3),
        "lines_per_cpu_s": round(raw.rows_read / cpu),
        "rows_read": raw.rows_read,
        "lines_per_s": round(raw.rows_read / seconds),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }


def _run(path: Path, rows: int, label: str) -> dict:
    out = DATA_DIR / "out" / label
    cmd = [*_cli(), "run", str(path), "--format", "csv,parquet", "--out", str(out)]
    stats = measure([*cmd, "--fail-on", "never", "--quiet"], DATA_DIR / "logs" / f"{label}.log")
    return stats | {"lines_per_s": round(rows / stats["wall_s"])}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-run", action="store_true", help="ingest only, no `run`")
    args = parser.parse_args(argv)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    parquet, generated = _generate(args.rows, args.seed)
    x12, written = _write_837(parquet)
    result = {
        "date": date.today().isoformat(),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "cpus": os.cpu_count(),
        "rows": args.rows,
        "generate": generated,
        "write_837": written,
        "ingest": {"parquet": _ingest(parquet), "x12": _ingest(x12)},
    }
    if not args.no_run:
        result["run"] = {
            "parquet": _run(parquet, args.rows, "parquet"),
            "x12": _run(x12, args.rows, "x12"),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"x12-{result['date']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for stage in ("ingest", "run"):
        for kind, stats in result.get(stage, {}).items():
            print(f"{stage:<7}{kind:<9}{stats['lines_per_s']:>12,} lines/s")
    print(f"results: {out}")
    return result


if __name__ == "__main__":
    main()
