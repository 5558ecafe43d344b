"""Warm ask latency of two kbqa installs side by side in one run (one worker process each), and whether they agree."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

WARMUP = 10
USAGE = """Each worker opens Assistant(load_settings({"store": STORE})) once and answers warm-up questions; then every
question is asked of both workers in turn, alternating which goes first. A worker times its own ask (wall and process
CPU time), so pipe overhead is not counted. --old/--new are PYTHONPATH folders of non-editable installs (pip install
--target DIR); without --new the new worker imports this environment's kbqa (PYTHONPATH removed). Example:
  python bench/bench_versions.py --old /tmp/basesite --store /tmp/vnstore \\
      --questions /tmp/vinewsqa/questions.jsonl bench/english_questions.jsonl --n 200"""


def cpu_summary() -> str:
    """CPU model, cores, and which of avx2 / avx512f / avx512_vnni / amx it has."""
    model, flags = "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    has = {
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "avx512_vnni": "avx512_vnni" in flags,
        "amx": any(f.startswith("amx") for f in flags),
    }
    return f"{model}; {os.cpu_count()} cores; " + " ".join(f"{k}={'yes' if v else 'no'}" for k, v in has.items())


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --- worker side -------------------------------------------------------------------------------------------------


def serve(store: str) -> None:
    """Worker: open the Assistant once, then answer one JSON request per stdin line with one JSON line."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)  # the protocol's channel
    os.dup2(2, 1)  # anything kbqa prints goes to stderr
    sys.stdout = sys.stderr
    started = time.perf_counter()
    import kbqa
    from kbqa.config import load_settings
    from kbqa.qa.chain import Assistant

    assistant = Assistant(load_settings({"store": store}))
    ready = {"kbqa": str(Path(kbqa.__file__).resolve().parent), "open_s": time.perf_counter() - started}
    out.write(json.dumps(ready) + "\n")
    for line in sys.stdin:
        question = json.loads(line)["question"]
        embedder = getattr(assistant, "embedder", None)
        getattr(embedder, "_queries", {}).clear()  # the query memo: every ask embeds its question
        wall, cpu = time.perf_counter(), time.process_time()
        answer = assistant.ask(question)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        cited = [getattr(c, "passage", c) for c in answer.citations]
        first = [cited[0].source, cited[0].start, cited[0].end] if cited else None
        text = getattr(answer, "answer", None) or getattr(answer, "text", "")
        reply = {"ms": wall * 1000, "cpu_ms": cpu * 1000, "found": bool(answer.found), "answer": text, "cite": first}
        reply["process_cpu_s"] = time.process_time()  # the worker's CPU time so far, start-up included
        out.write(json.dumps(reply) + "\n")  # ASCII: the pipes' encoding does not matter


# --- driver side -------------------------------------------------------------------------------------------------


class Worker:
    """One version's worker process; `ask` sends a question and returns its reply."""

    def __init__(self, name: str, pythonpath: str | None, store: str, workdir: str) -> None:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--store", store]
        self.name, self.pythonpath = name, pythonpath
        pipe = subprocess.PIPE
        self.proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdin=pipe, stdout=pipe, text=True)
        self.ready = self._read()
        if pythonpath and not self.ready["kbqa"].startswith(str(Path(pythonpath).resolve())):
            raise SystemExit(f"{name}: kbqa loaded from {self.ready['kbqa']}, not from {pythonpath}")

    def _read(self) -> dict[str, Any]:
        stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        line = stdout.readline()
        if not line:
            raise SystemExit(f"{self.name} worker exited (code {self.proc.wait()}); its stderr is above")
        return json.loads(line)

    def ask(self, question: str) -> dict[str, Any]:
        stdin: IO[str] = self.proc.stdin  # type: ignore[assignment]
        stdin.write(json.dumps({"question": question}) + "\n")
        stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def read_questions(path: Path, n: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [str(r["question"]) for r in rows][: n + WARMUP]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", required=True, help="the store both versions open (folder or postgresql:// URL)")
    parser.add_argument("--old", help="PYTHONPATH folder of the old install")
    parser.add_argument("--new", help="PYTHONPATH folder of the new install [default: this environment's kbqa]")
    parser.add_argument("--questions", nargs="+", type=Path, default=[], help='JSONL files with a "question" field')
    parser.add_argument("--n", type=int, default=200, help="timed questions per file (first N; the next are warm-up)")
    parser.add_argument("--save", type=Path, help="write one JSON line per question and version here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("KBQA_QUERY_ENGINE", "onnx")  # as a serving process (the chat) embeds queries
    if args.worker:
        serve(args.store)
        return
    if not args.old or not args.questions:
        parser.error("--old and --questions are required")
    sets = {f"{i}:{p.stem}": read_questions(p, args.n) for i, p in enumerate(args.questions, start=1)}
    print(f"CPU: {cpu_summary()}")
    print(f"load average at start: {loadavg()}; KBQA_QUERY_ENGINE={os.environ['KBQA_QUERY_ENGINE']}")
    with tempfile.TemporaryDirectory(prefix="kbqa-versions-") as workdir:  # no kbqa.toml in the workers' cwd
        workers = [Worker("old", args.old, args.store, workdir), Worker("new", args.new, args.store, workdir)]
        for w in workers:
            print(f"{w.name}: kbqa from {w.ready['kbqa']}; Assistant opened in {w.ready['open_s']:.2f} s")
        started: dict[str, float] = {}  # each worker's process CPU time after start-up and warm-up
        for qs in sets.values():  # warm-up: models, index pages, caches (questions after the timed ones)
            for q in (qs[args.n :] or qs)[:WARMUP]:
                for w in workers:
                    started[w.name] = w.ask(q)["process_cpu_s"]
        rows: list[dict[str, Any]] = []
        for set_name, qs in sets.items():
            for i, q in enumerate(qs[: args.n]):
                for w in workers if i % 2 == 0 else workers[::-1]:
                    rows.append({"set": set_name, "i": i, "version": w.name, "question": q, **w.ask(q)})
        for w in workers:
            w.close()
    print(f"load average at end: {loadavg()}")
    for name, cpu in started.items():
        last = [r for r in rows if r["version"] == name][-1]["process_cpu_s"]
        wall = sum(r["ms"] for r in rows if r["version"] == name) / 1000
        print(
            f"{name} worker: process CPU {last:.1f} s in all ({cpu:.1f} s start-up and warm-up), "
            f"{last - cpu:.1f} s over the timed asks, whose wall time sums to {wall:.1f} s"
        )
    if args.save:
        args.save.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    report(rows, list(sets))


def report(rows: list[dict[str, Any]], set_names: list[str]) -> None:
    width = max(len(s) for s in set_names) + 2
    head = f"{'set':<{width}}{'version':<8}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}"
    print(f"\n{head}{'CPU ms/ask':>12}{'CPU/wall':>10}")
    for s in set_names:
        stats: dict[str, tuple[float, float]] = {}
        for v in ("old", "new"):
            got = [r for r in rows if r["set"] == s and r["version"] == v]
            ms, cpu = [r["ms"] for r in got], [r["cpu_ms"] for r in got]
            stats[v] = (percentile(ms, 0.5), percentile(ms, 0.95))
            line = f"{s:<{width}}{v:<8}{len(ms):>5}{stats[v][0]:>9.1f}{stats[v][1]:>9.1f}{statistics.fmean(ms):>9.1f}"
            print(f"{line}{statistics.fmean(cpu):>12.1f}{sum(cpu) / sum(ms):>10.2f}")
        ratio = [stats["new"][k] / stats["old"][k] for k in (0, 1)]
        print(f"{s:<{width}}{'new/old':<8}{'':>5}{ratio[0]:>9.2f}{ratio[1]:>9.2f}")
    print()
    for s in set_names:
        pairs: dict[int, dict[str, dict[str, Any]]] = {}
        for r in rows:
            if r["set"] == s:
                pairs.setdefault(r["i"], {})[r["version"]] = r
        keys = ("answer", "found", "cite")
        differ = [p for p in pairs.values() if any(p["old"][k] != p["new"][k] for k in keys)]
        texts = sum(p["old"]["answer"] != p["new"]["answer"] for p in pairs.values())
        cites = sum(p["old"]["cite"] != p["new"]["cite"] for p in pairs.values())
        print(f"{s}: {len(differ)} of {len(pairs)} answers differ (answer text {texts}, first citation {cites})")
        for p in differ[:5]:
            print(f"  {p['old']['question'][:80]!r}")
            for v in ("old", "new"):
                print(f"    {v}: {p[v]['found']} {p[v]['cite']} {p[v]['answer'][:100]!r}")


if __name__ == "__main__":
    main()
