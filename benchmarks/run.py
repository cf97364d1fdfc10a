"""Benchmarks (`make bench`): lines per second, CPU seconds and peak memory of `claims-audit run`,
compared in the same run with a lean DuckDB audit of six core rules on typed Parquet, the
faithful DuckDB audit of the core rules and a naive row-by-row loop.

For each size: generate (cached in benchmarks/data/) a Parquet file with `claims-audit sample
generate`, then time as subprocesses, polling the RSS and CPU time of the whole process tree
(the engine's worker processes included) and the load average of the machine:

* `claims-audit run FILE --format parquet --fail-on never --workers N` for each of `--workers`
  (default 1 and 2: the scaling from one core to two), and once more with `--format
  csv,parquet` on the most workers (what CSV findings add);
* `python -m benchmarks.duckdb_lean` on a typed copy of the file (`duckdb_lean.prepare`, cached,
  not timed): read, join, group, write; the yardstick of issue 14;
* `python -m benchmarks.duckdb_rules` on the same file and bundle, whose findings must equal the
  engine's for the core rules (C001 C002 U001 U002 U003 N003 M001 M002 M004),
* for `--dask-sizes`, `claims-audit run FILE --engine dask` (findings compared byte for byte with
  the local run of the same size, when there is one),

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


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def measure(cmd: list[str], log: Path) -> dict:
    """Run `cmd`; wall seconds, peak RSS (MB, summed over its whole process tree, polled), CPU
    seconds of the tree (user + system of every process seen, at its last poll) and the
    machine's 1-minute load average before and after (the machine may be shared)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        peak, cpu = 0, {}
        while proc.poll() is None:
            rss = 0
            for p in _tree(proc):
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
                    times = p.cpu_times()
                    cpu[p.pid] = times.user + times.system
            peak = max(peak, rss)
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(sum(cpu.values()), 2),
        "peak_rss_mb": round(peak / 2**20, 1),
        "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _data_key(reference: Path | None) -> str:
    """Cached files are regenerated when the generator or the bundle changes."""
    generator = ROOT / "pipeline" / "generate"  # a package (or, before, generate.py)
    sources = sorted(generator.rglob("*.py")) or [generator.with_suffix(".py")]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.read_bytes())
    ref = reference or ROOT / "reference"
    manifest = ref / "manifest.json"
    if manifest.exists():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:10]


def ensure_data(
    rows: int, seed: int, reference: Path | None, key: str, defect_rate: float | None = None
) -> tuple[Path, dict]:
    rate = "" if defect_rate is None else f"-d{defect_rate:g}"
    path = DATA / f"claims-{rows}-s{seed}{rate}-{key}.parquet"
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
    if defect_rate is not None:
        cmd += ["--defect-rate", str(defect_rate)]
    print(f"generating {rows:,} lines -> {path.name}", flush=True)
    stats = measure(cmd, DATA / "logs" / f"generate-{rows}.log")
    return path, {"cached": False, **stats}


def run_engine(
    path: Path,
    rows: int,
    engine: str,
    reference: Path | None,
    workers: int | None,
    formats: str = "parquet",
) -> dict:
    tag = f"{engine}-{rows}" + (f"-w{workers}" if workers else "") + f"-{formats.replace(',', '+')}"
    out = DATA / "out" / tag
    cmd = [*_cli(), "run", str(path), "--format", formats, "--out", str(out)]
    cmd += ["--fail-on", "never", "--quiet", "--engine", engine]
    if workers and engine == "pandas":
        cmd += ["--workers", str(workers)]
    if reference:
        cmd += ["--reference", str(reference)]
    print(f"  {engine} engine on {rows:,} lines ({workers or 'default'} workers, {formats})")
    stats = measure(cmd, DATA / "logs" / f"{tag}.log")
    summary = json.loads((out / "summary.json").read_text())
    flagged = pd.read_parquet(out / "findings.parquet", columns=["claim_id", "line_number"])
    stats.update(
        lines_with_findings=round(len(flagged.drop_duplicates()) / rows, 4),
        workers=workers,
        formats=formats,
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


def run_other(module: str, path: Path, rows: int, bundle: Path, engine_out: str | None) -> dict:
    """A yardstick on `path`; its core findings compared with the engine's (`engine_out`),
    unless None (the lean audit has its own, simpler semantics)."""
    out = DATA / "out" / f"{module}-{rows}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"  {module} on {rows:,} lines", flush=True)
    stats = measure(
        [sys.executable, "-m", f"benchmarks.{module}", str(path), str(bundle), str(out)],
        DATA / "logs" / f"{module}-{rows}.log",
    )
    stats["lines_per_s"] = round(rows / stats["wall_s"])
    if engine_out is not None:
        mine, engine = _core(out), _core(Path(engine_out) / "findings.parquet")
        stats.update(findings=len(mine), equal_to_engine=mine == engine)
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
        for f in ("findings.parquet", "rejects.csv")
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
        f"{'lines':>12} {'run':<22} {'wall s':>8} {'CPU s':>7} {'lines/s':>10} {'peak RSS':>9} "
        f"{'load':>11}"
    )
    rows = [head, "-" * len(head)]
    for r in results["runs"]:
        for name, e in r["measured"].items():
            load = "-".join(f"{x:.1f}" for x in e.get("loadavg", []))
            rows.append(
                f"{r['rows']:>12,} {name:<22} {e['wall_s']:>8.1f} {e.get('cpu_s', 0):>7.1f} "
                f"{round(r['rows'] / e['wall_s']):>10,} {e['peak_rss_mb']:>7,.0f}MB {load:>11}"
            )
        ratios = ", ".join(f"{k} {v}" for k, v in (r.get("ratios") or {}).items())
        rows.append(f"{'':>12} ratios: {ratios}")
    for r in results["runs"]:
        for name, e in r["measured"].items():
            t = e.get("timings_seconds") or {}
            stages = ", ".join(f"{k} {v}" for k, v in t.items() if not isinstance(v, dict))
            if stages:
                rows.append(f"stages {name} {r['rows']:,}: {stages}")
    n = results.get("naive")
    if n:
        rows.append(
            f"naive loop {n['rows']:,} lines: {n['wall_s']}s ({n['per_line_us']} us/line),"
            f" same core findings as the engine: {n['equal_to_engine']}"
        )
    return "\n".join(rows)


def _ratios(m: dict, best: str, single: str | None) -> dict:
    """The figures of the issue 14 targets from one size's measurements."""
    e, out = m[best], {}
    if "duckdb_lean" in m:
        out["time_vs_lean_duckdb"] = _ratio(e["wall_s"], m["duckdb_lean"]["wall_s"])
        out["cpu_vs_lean_duckdb"] = _ratio(e["cpu_s"], m["duckdb_lean"]["cpu_s"])
    if "duckdb_faithful" in m:
        out["time_vs_faithful_duckdb"] = _ratio(e["wall_s"], m["duckdb_faithful"]["wall_s"])
    if single and single != best:
        out["speedup_vs_1_worker"] = _ratio(m[single]["wall_s"], e["wall_s"])
    if f"{best}+csv" in m:
        out["csv_adds"] = _ratio(m[f"{best}+csv"]["wall_s"] - e["wall_s"], e["wall_s"])
    return out


def bench_size(rows: int, path: Path, args, bundle: Path, failures: list[str]) -> dict:
    """Every measurement of one size: the local engine per worker count (and with CSV), the
    lean and the faithful DuckDB audits."""
    from benchmarks.duckdb_lean import prepare

    m: dict[str, dict] = {}
    for w in args.workers:
        m[f"local {w} worker(s)"] = run_engine(path, rows, "pandas", args.reference, w)
    best = f"local {max(args.workers)} worker(s)"
    if not args.no_csv:
        m[f"{best}+csv"] = run_engine(
            path, rows, "pandas", args.reference, max(args.workers), "csv,parquet"
        )
    if not args.no_duckdb:
        typed = prepare(path, path.with_suffix(".typed.parquet"))
        m["duckdb_lean"] = run_other("duckdb_lean", typed, rows, bundle, None)
        m["duckdb_faithful"] = run_other("duckdb_rules", path, rows, bundle, m[best]["out"])
        if not m["duckdb_faithful"]["equal_to_engine"]:
            failures.append(f"DuckDB findings differ from the engine's ({rows})")
    single = "local 1 worker(s)" if 1 in args.workers else None
    return {"rows": rows, "file": str(path), "measured": m, "ratios": _ratios(m, best, single)}


def _naive(args, bundle: Path, key: str, failures: list[str]) -> dict | None:
    if not args.naive_rows:
        return None
    sample, gen = ensure_data(args.naive_rows, args.seed, args.reference, key, args.defect_rate)
    eng = run_engine(sample, args.naive_rows, "pandas", args.reference, max(args.workers))
    naive = run_other("naive_loop", sample, args.naive_rows, bundle, eng["out"])
    t = naive.get("timings_seconds", {})
    naive.update(
        rows=args.naive_rows,
        generate=gen,
        engine_on_sample=eng,
        per_line_us=round(t.get("lines", naive["wall_s"]) / args.naive_rows * 1e6, 2),
    )
    if not naive["equal_to_engine"]:
        failures.append(f"naive loop findings differ from the engine's ({args.naive_rows})")
    return naive


def _arguments(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated line counts")
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
    parser.add_argument(
        "--defect-rate",
        type=float,
        help="the generator's --defect-rate (default: its own; 0.03, the most, flags about a "
        "quarter of the lines with the full bundle)",
    )
    parser.add_argument(
        "--workers", default="1,2", help="comma-separated worker counts of the local engine"
    )
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--no-csv", action="store_true", help="skip the csv,parquet run")
    parser.add_argument(
        "--results",
        type=Path,
        help="results file (default: "
        "benchmarks/results/<date>.json, <date>-smoke.json below 1M lines)",
    )
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
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
        "defect_rate": args.defect_rate,
        "runs": [],
    }
    failures: list[str] = []
    results["naive"] = _naive(args, bundle, key, failures)
    for rows in sorted(set(sizes) | set(dask_sizes)):
        path, gen = ensure_data(rows, args.seed, args.reference, key, args.defect_rate)
        run = bench_size(rows, path, args, bundle, failures) if rows in sizes else None
        if rows in dask_sizes:
            run = run or {"rows": rows, "file": str(path), "measured": {}, "ratios": {}}
            dask = run_engine(path, rows, "dask", args.reference, None)
            run["measured"]["dask (2 workers)"] = dask
            local = run["measured"].get(f"local {max(args.workers)} worker(s)")
            if local:
                run["dask_same_bytes_as_local"] = _same_bytes(dask["out"], local["out"])
                if not run["dask_same_bytes_as_local"]:
                    failures.append(f"dask findings differ from the local engine ({rows})")
        run["generate"] = gen
        results["runs"].append(run)
        print(table({"runs": [run]}), flush=True)
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
