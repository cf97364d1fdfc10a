"""Benchmarks (`make bench`): lines per second and peak memory of `claims-audit run`, compared in
the same run with a DuckDB SQL implementation of the core rules and a naive row-by-row loop.

For each size: generate (cached in benchmarks/data/) a Parquet file with `claims-audit sample
generate`, then time as subprocesses, polling the RSS of the whole process tree:

* `claims-audit run FILE --format csv,parquet --fail-on never` (pandas engine; no HTML report),
* `python -m benchmarks.duckdb_rules` on the same file and bundle, whose findings must equal the
  engine's for the core rules (C001 C002 U001 U002 U003 N003 M001 M002 M004),
* for `--dask-sizes`, `claims-audit run FILE --engine dask` (findings compared byte for byte with
  the pandas run of the same size, when there is one),

and once, on a `--naive-rows` sample, `python -m benchmarks.naive_loop` (same check), whose
per-line time is extrapolated to each size. Results: benchmarks/results/<date>.json and a table.

    python -m benchmarks.run --sizes 1000000,10000000 --dask-sizes 10000000,50000000
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import psutil

from benchmarks.duckdb_rules import CORE_RULES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
POLL_SECONDS = 0.05


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("claims-audit")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from claims_audit.cli.main import main; main()"]


def measure(cmd: list[str], log: Path) -> dict:
    """Run `cmd`; wall seconds and peak RSS (MB) of its whole process tree, polled."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            try:
                procs = [proc, *proc.children(recursive=True)]
            except psutil.NoSuchProcess:
                procs = []
            rss = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
            peak = max(peak, rss)
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}")
    return {"wall_s": round(wall, 3), "peak_rss_mb": round(peak / 2**20, 1)}


def _data_key(reference: Path | None) -> str:
    """Cached files are regenerated when the generator or the bundle changes."""
    digest = hashlib.sha256((ROOT / "pipeline" / "generate.py").read_bytes())
    ref = reference or ROOT / "reference"
    manifest = ref / "manifest.json"
    if manifest.exists():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:10]


def ensure_data(rows: int, seed: int, reference: Path | None, key: str) -> tuple[Path, dict]:
    path = DATA / f"claims-{rows}-s{seed}-{key}.parquet"
    labels = Path(str(path) + ".labels.parquet")
    if path.exists() and labels.exists():
        return path, {"cached": True}
    cmd = [
        *_cli(),
        "sample",
        "generate",
        "--rows",
        str(rows),
        "--out",
        str(path),
        "--seed",
        str(seed),
        "--quiet",
    ]
    if reference:
        cmd += ["--reference", str(reference)]
    print(f"generating {rows:,} lines -> {path.name}", flush=True)
    stats = measure(cmd, DATA / "logs" / f"generate-{rows}.log")
    return path, {"cached": False, **stats}


def run_engine(path: Path, rows: int, engine: str, reference: Path | None, workers: int) -> dict:
    out = DATA / "out" / f"{engine}-{rows}"
    cmd = [
        *_cli(),
        "run",
        str(path),
        "--format",
        "csv,parquet",
        "--out",
        str(out),
        "--fail-on",
        "never",
        "--quiet",
        "--engine",
        engine,
    ]
    if reference:
        cmd += ["--reference", str(reference)]
    print(f"  {engine} engine on {rows:,} lines", flush=True)
    stats = measure(cmd, DATA / "logs" / f"{engine}-{rows}.log")
    summary = json.loads((out / "summary.json").read_text())
    stats.update(
        lines_per_s=round(rows / stats["wall_s"]),
        timings_seconds=summary.get("timings_seconds"),
        findings=summary["totals"]["findings"],
        rows_audited=summary["totals"]["rows_audited"],
        rows_rejected=summary["totals"]["rows_rejected"],
        out=str(out),
    )
    return stats


def _core(findings_parquet: Path) -> set[tuple]:
    f = pd.read_parquet(findings_parquet, columns=["claim_id", "line_number", "rule_code"])
    f = f[f["rule_code"].isin(CORE_RULES)]
    return set(
        zip(f["claim_id"].astype(str), f["line_number"].astype(int), f["rule_code"], strict=True)
    )


def run_other(module: str, path: Path, rows: int, bundle: Path, engine_out: str) -> dict:
    out = DATA / "out" / f"{module}-{rows}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"  {module} on {rows:,} lines", flush=True)
    stats = measure(
        [sys.executable, "-m", f"benchmarks.{module}", str(path), str(bundle), str(out)],
        DATA / "logs" / f"{module}-{rows}.log",
    )
    mine, engine = _core(out), _core(Path(engine_out) / "findings.parquet")
    stats.update(
        lines_per_s=round(rows / stats["wall_s"]),
        findings=len(mine),
        equal_to_engine=mine == engine,
    )
    if mine != engine:
        stats["only_here"] = sorted(mine - engine)[:10]
        stats["only_engine"] = sorted(engine - mine)[:10]
    timing_file = Path(str(out) + ".json")
    if timing_file.exists():
        stats["timings_seconds"] = json.loads(timing_file.read_text())
    return stats


def _same_bytes(a: str, b: str) -> bool:
    return all(
        (Path(a) / f).read_bytes() == (Path(b) / f).read_bytes()
        for f in ("findings.csv", "findings.parquet", "rejects.csv")
    )


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pandas": pd.__version__,
        "pyarrow": __import__("pyarrow").__version__,
        "duckdb": __import__("duckdb").__version__,
    }


def _ratio(a, b):
    return round(a / b, 2) if a and b else None


def table(results: dict) -> str:
    head = (
        f"{'lines':>12} {'engine':<7} {'wall s':>8} {'lines/s':>10} {'peak RSS':>9} "
        f"{'DuckDB l/s':>11} {'x DuckDB':>8} {'naive l/s':>10} {'x naive':>8}"
    )
    rows = [head, "-" * len(head)]
    for r in results["runs"]:
        e = r["engine"]
        duck, naive = r.get("duckdb") or {}, r.get("naive_extrapolated") or {}
        rows.append(
            f"{r['rows']:>12,} {r['engine_name']:<7} {e['wall_s']:>8.1f} {e['lines_per_s']:>10,} "
            f"{e['peak_rss_mb']:>7,.0f}MB "
            f"{duck.get('lines_per_s', 0):>11,} {r.get('ratio_to_duckdb') or '-':>8} "
            f"{naive.get('lines_per_s', 0):>10,} {r.get('ratio_to_naive') or '-':>8}"
        )
    for r in results["runs"]:
        if r.get("duckdb"):
            d = r["duckdb"]
            rows.append(
                f"DuckDB {r['rows']:,}: {d['wall_s']}s, peak RSS {d['peak_rss_mb']:,.0f}MB,"
                f" same core findings as the engine: {d['equal_to_engine']}"
            )
    n = results.get("naive")
    if n:
        rows.append(
            f"naive loop {n['rows']:,} lines: {n['wall_s']}s ({n['per_line_us']} us/line),"
            f" same core findings as the engine: {n['equal_to_engine']}"
        )
    for r in results["runs"]:
        t = r["engine"].get("timings_seconds") or {}
        stages = ", ".join(f"{k} {v}" for k, v in t.items() if not isinstance(v, dict))
        rows.append(f"stages {r['engine_name']} {r['rows']:,}: {stages}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000000,10000000",
        help="comma-separated line counts for the pandas engine and DuckDB",
    )
    parser.add_argument(
        "--dask-sizes",
        default="10000000,50000000",
        help="comma-separated line counts for the dask engine ('' for none)",
    )
    parser.add_argument(
        "--naive-rows",
        type=int,
        help="sample for the naive loop (default 100000, or the "
        "largest size when smaller; 0: skip)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference", type=Path, help="bundle (default: the starter bundle)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument(
        "--results",
        type=Path,
        help="results file (default: "
        "benchmarks/results/<date>.json, <date>-smoke.json below 1M lines)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    dask_sizes = [int(s) for s in args.dask_sizes.split(",") if s.strip()]
    bundle = args.reference or ROOT / "reference"
    if args.naive_rows is None:
        args.naive_rows = min(100_000, max(sizes + dask_sizes, default=100_000))
    key = _data_key(args.reference)
    results: dict = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "reference": str(bundle),
        "seed": args.seed,
        "runs": [],
    }
    failures = []

    naive = None
    if args.naive_rows:
        sample, gen = ensure_data(args.naive_rows, args.seed, args.reference, key)
        eng = run_engine(sample, args.naive_rows, "pandas", args.reference, args.workers)
        naive = run_other("naive_loop", sample, args.naive_rows, bundle, eng["out"])
        t = naive.get("timings_seconds", {})
        naive.update(
            rows=args.naive_rows,
            generate=gen,
            engine_on_sample=eng,
            per_line_us=round(t.get("lines", naive["wall_s"]) / args.naive_rows * 1e6, 2),
        )
        results["naive"] = naive
        if not naive["equal_to_engine"]:
            failures.append(f"naive loop findings differ from the engine's ({args.naive_rows})")

    def extrapolate(rows: int) -> dict | None:
        if not naive:
            return None
        t = naive.get("timings_seconds", {})
        fixed = t.get("reference", 0.0) + (naive["wall_s"] - t.get("total", naive["wall_s"]))
        seconds = fixed + naive["per_line_us"] * 1e-6 * rows
        return {"seconds": round(seconds, 1), "lines_per_s": round(rows / seconds)}

    pandas_out = {}
    for rows in sorted(set(sizes) | set(dask_sizes)):
        path, gen = ensure_data(rows, args.seed, args.reference, key)
        for engine in ("pandas", "dask"):
            if rows not in (sizes if engine == "pandas" else dask_sizes):
                continue
            run = {"rows": rows, "engine_name": engine, "file": str(path), "generate": gen}
            run["engine"] = run_engine(path, rows, engine, args.reference, args.workers)
            if engine == "pandas":
                pandas_out[rows] = run["engine"]["out"]
                if not args.no_duckdb:
                    run["duckdb"] = run_other(
                        "duckdb_rules", path, rows, bundle, run["engine"]["out"]
                    )
                    run["ratio_to_duckdb"] = _ratio(
                        run["engine"]["lines_per_s"], run["duckdb"]["lines_per_s"]
                    )
                    if not run["duckdb"]["equal_to_engine"]:
                        failures.append(f"DuckDB findings differ from the engine's ({rows})")
            elif rows in pandas_out:
                run["same_bytes_as_pandas"] = _same_bytes(run["engine"]["out"], pandas_out[rows])
                if not run["same_bytes_as_pandas"]:
                    failures.append(f"dask findings differ from pandas ({rows})")
            run["naive_extrapolated"] = extrapolate(rows)
            if run["naive_extrapolated"]:
                run["ratio_to_naive"] = _ratio(
                    run["engine"]["lines_per_s"], run["naive_extrapolated"]["lines_per_s"]
                )
            results["runs"].append(run)
            print(table({"runs": [run]}).splitlines()[2], flush=True)

    results["failures"] = failures
    largest = max(sizes + dask_sizes, default=0)
    target = args.results or RESULTS / (
        f"{results['date']}.json" if largest >= 1_000_000 else f"{results['date']}-smoke.json"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(table(results))
    print(f"\nresults: {target}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
