#!/usr/bin/env python3
"""Run every fuzz harness (fuzz/harnesses.py) under atheris, one at a time.

    python3 fuzz/run.py --inputs 1000000          # the benchmark run (make fuzz)
    python3 fuzz/run.py --seconds 60 --only web,toml
    python3 fuzz/run.py --replay toml CRASH_FILE   # re-run one input, show the traceback
    python3 fuzz/run.py --list

Each harness runs in its own process (libFuzzer exits the process when it is
done) with coverage instrumentation of the softbond package, its seeds as the
starting corpus and a dictionary of the tokens its parser looks for.  The
run stops at --inputs inputs or --seconds seconds, whichever comes first.

Reported per harness: inputs run, inputs/s, crashes (any exception the
harness raises: an undocumented exception or a broken contract, see the
harness docstrings), and the slowest input.  An input taking longer than
--budget-ms (100 ms) is saved and re-timed without instrumentation (best of
3); if it is still over budget it counts as a hang.  libFuzzer's own
-timeout (10 s) catches inputs that never finish.

Exit status: 0 when no harness crashed or hung, 1 otherwise, 2 on usage
errors or when atheris is missing (pip install atheris).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "softbond-fuzz"
HARD_TIMEOUT_S = 10


def _dict_line(token: bytes) -> str:
    return '"' + "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02x}"
                         for b in token) + '"'


# --------------------------------------------------------------------------
# worker: one harness under atheris, in this process


def worker(name: str, inputs: int, seconds: float, workdir: Path, budget: float) -> None:
    import atheris

    with atheris.instrument_imports(include=["softbond"]):
        from fuzz import harnesses
        harness = harnesses.HARNESSES[name]
        func = harness.func
        func(b"")  # warm up (the web harness starts its server); imports stay instrumented
    corpus = workdir / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in harness.seeds():
        (corpus / f"seed-{hashlib.sha1(seed).hexdigest()}").write_bytes(seed)
    dict_file = workdir / f"{name}.dict"
    dict_file.write_text("\n".join(_dict_line(t) for t in harness.dictionary) + "\n")
    stats_file = workdir / f"{name}.stats.json"
    perf = time.perf_counter
    state = {"count": 0, "first": None, "last_write": 0.0, "slowest": 0.0, "slowest_len": 0,
             "slowest_sha1": "", "over_budget": 0}

    def write_stats(now: float) -> None:
        state["last_write"] = now
        state["elapsed"] = now - state["first"]
        tmp = stats_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: v for k, v in state.items() if k != "last_write"}))
        tmp.replace(stats_file)

    def one_input(data: bytes) -> None:
        start = perf()
        if state["first"] is None:
            state["first"] = start
        func(data)
        end = perf()
        took = end - start
        state["count"] += 1
        if took > state["slowest"]:
            state["slowest"] = took
            state["slowest_len"] = len(data)
            state["slowest_sha1"] = hashlib.sha1(data).hexdigest()
        if took > budget:
            state["over_budget"] += 1
            (workdir / f"{name}-slow-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
        if end - state["last_write"] > 1.0 or state["count"] >= inputs:
            write_stats(end)

    args = [sys.argv[0], f"-runs={inputs}", f"-max_len={harness.max_len}", f"-dict={dict_file}",
            f"-artifact_prefix={workdir}/{name}-", f"-timeout={HARD_TIMEOUT_S}",
            "-rss_limit_mb=4096", "-print_final_stats=1", "-print_pcs=0", str(corpus)]
    if seconds:
        args.insert(2, f"-max_total_time={int(seconds)}")
    atheris.Setup(args, one_input)
    atheris.Fuzz()


# --------------------------------------------------------------------------
# parent: run the workers, re-time slow inputs, report


def replay(name: str, path: Path) -> tuple[str | None, float]:
    """Run one saved input through the (uninstrumented) harness: the
    traceback (None if it passed) and the best of 3 timings."""
    from fuzz import harnesses
    func = harnesses.HARNESSES[name].func
    data = path.read_bytes()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        try:
            func(data)
        except Exception:  # noqa: BLE001 - reported, not handled
            return traceback.format_exc(), time.perf_counter() - start
        best = min(best, time.perf_counter() - start)
    return None, best


def replay_all(name: str, paths) -> list[tuple[Path, str | None, float]]:
    from fuzz import harnesses
    try:
        harnesses.HARNESSES[name].func(b"")  # warm up, as the worker does
    except Exception:  # noqa: BLE001 - the replays below report it
        pass
    try:
        return [(Path(p), *replay(name, Path(p))) for p in paths]
    finally:
        harnesses.cleanup()


def run_one(name: str, args, workdir: Path) -> dict:
    for old in workdir.glob(f"{name}-*"):
        old.unlink()
    stats_file = workdir / f"{name}.stats.json"
    stats_file.unlink(missing_ok=True)
    log = workdir / f"{name}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
           "--inputs", str(args.inputs), "--seconds", str(args.seconds or 0),
           "--workdir", str(workdir), "--budget-ms", str(args.budget_ms)]
    print(f"[{name}] fuzzing ...", flush=True)
    wall = time.monotonic()
    with open(log, "wb") as out:
        rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    wall = time.monotonic() - wall
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    count = stats.get("count", 0)
    elapsed = stats.get("elapsed", 0.0) or wall
    crashes = sorted(p for p in workdir.glob(f"{name}-*")
                     if p.name.split("-")[1] in ("crash", "timeout", "oom", "leak"))
    crash_reports = []
    for path, tb, _ in replay_all(name, crashes):
        crash_reports.append({"file": str(path), "kind": path.name.split("-")[1],
                              "traceback": tb or "(passes when replayed; see the log)"})
    if rc != 0 and not crashes:
        crash_reports.append({"file": None, "kind": f"exit {rc}",
                              "traceback": log.read_text(errors="replace")[-3000:]})
    hangs = []
    slow_files = sorted(workdir.glob(f"{name}-slow-*"))
    for path, tb, best in replay_all(name, slow_files[:50]):
        if best > args.budget_ms / 1000:
            hangs.append({"file": str(path), "best_ms": round(best * 1000, 1)})
    result = {
        "name": name, "inputs": count, "seconds": round(elapsed, 1), "wall_seconds": round(wall, 1),
        "inputs_per_s": round(count / elapsed) if elapsed else 0,
        "crashes": crash_reports, "slow_inputs": stats.get("over_budget", 0), "hangs": hangs,
        "slowest_ms": round(stats.get("slowest", 0.0) * 1000, 1),
        "slowest_len": stats.get("slowest_len", 0), "exit": rc, "log": str(log),
    }
    status = "OK" if not crash_reports and not hangs else "FAIL"
    print(f"[{name}] {status}: {count} inputs in {elapsed:.1f} s ({result['inputs_per_s']}/s), "
          f"{len(crash_reports)} crashes, {len(hangs)} hangs "
          f"({result['slow_inputs']} inputs over {args.budget_ms} ms while instrumented), "
          f"slowest {result['slowest_ms']} ms", flush=True)
    for c in crash_reports:
        print(f"[{name}] {c['kind']}: {c['file']}\n{c['traceback']}", flush=True)
    for h in hangs:
        print(f"[{name}] hang: {h['file']} takes {h['best_ms']} ms uninstrumented", flush=True)
    return result


def markdown(results: list[dict], args) -> str:
    from fuzz import harnesses
    lines = ["| parser | harness | inputs run | seconds | inputs/s | crashes | "
             f"inputs > {args.budget_ms:g} ms (instrumented) | of which still > {args.budget_ms:g} ms "
             "re-timed (hangs) | slowest ms (instrumented) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        what = harnesses.HARNESSES[r["name"]].what
        lines.append(f"| {what} | {r['name']} | {r['inputs']:,} | {r['seconds']:g} | "
                     f"{r['inputs_per_s']:,} | {len(r['crashes'])} | {r['slow_inputs']} | "
                     f"{len(r['hangs'])} | {r['slowest_ms']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", type=int, default=1_000_000, help="inputs per harness (default 1e6)")
    p.add_argument("--seconds", type=float, default=0, help="time limit per harness (0: none)")
    p.add_argument("--only", default="", help="comma-separated harness names")
    p.add_argument("--skip", default="", help="comma-separated harness names to leave out")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                   help=f"corpus, logs, crash files (default {DEFAULT_WORKDIR})")
    p.add_argument("--budget-ms", type=float, default=100.0, help="per-input time budget")
    p.add_argument("--json", type=Path, help="write the results here too")
    p.add_argument("--markdown", action="store_true", help="print a markdown table at the end")
    p.add_argument("--list", action="store_true", help="list the harnesses and exit")
    p.add_argument("--replay", nargs="+", metavar=("NAME", "FILE"), help="re-run saved inputs")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        args.workdir.mkdir(parents=True, exist_ok=True)
        worker(args.worker, args.inputs, args.seconds, args.workdir, args.budget_ms / 1000)
        return 0
    from fuzz import harnesses
    if args.list:
        for h in harnesses.HARNESSES.values():
            print(f"{h.name:12} {h.what}")
        return 0
    if args.replay:
        name, *files = args.replay
        bad = 0
        for f, tb, best in replay_all(name, files):
            print(f"{f}: {'FAIL' if tb else 'ok'} ({best * 1000:.1f} ms)")
            if tb:
                bad += 1
                print(tb)
        return 1 if bad else 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz/run.py needs atheris: python3 -m pip install atheris", file=sys.stderr)
        return 2
    names = [n for n in (args.only.split(",") if args.only else harnesses.HARNESSES) if n]
    unknown = [n for n in names if n not in harnesses.HARNESSES]
    if unknown:
        print(f"unknown harness(es): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    names = [n for n in names if n not in args.skip.split(",")]
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"fuzzing {len(names)} harnesses, {args.inputs:,} inputs"
          + (f" or {args.seconds:g} s" if args.seconds else "") + f" each; work dir {args.workdir}",
          flush=True)
    results = [run_one(name, args, args.workdir) for name in names]
    summary = args.workdir / "summary.json"
    summary.write_text(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    failed = [r["name"] for r in results if r["crashes"] or r["hangs"]]
    print()
    print(markdown(results, args) if args.markdown else
          "\n".join(f"{r['name']:12} {r['inputs']:>9,} inputs {r['inputs_per_s']:>7,}/s "
                    f"crashes {len(r['crashes'])} hangs {len(r['hangs'])} "
                    f"slowest {r['slowest_ms']} ms" for r in results))
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'no crashes, no hangs'} "
          f"(details in {summary})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
