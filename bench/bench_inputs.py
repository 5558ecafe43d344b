"""Real-world inputs: time and peak RSS for a 50 MB text file and for 1,000 scraped HTML news pages.

    python bench/bench_inputs.py --articles ../shared/data/news_vi/articles.jsonl --workdir /tmp/kbqa-inputs

Builds its inputs from news_vi articles in the workdir (never in the project):
- a 50 MB file of articles one after another, with one 5 MB line in it; `kbqa index` on it at the default file
  limit (refused: how fast and in how little memory), and its read + clean + chunk with the limit raised
  (`KBQA_MAX_FILE_MB=64`; embedding its ~50k chunks would take ~20 min and is measured by bench_build.py);
- 1,000 HTML pages shaped like Vietnamese news sites (nav, related articles, scripts, footer around the article):
  a fresh `kbqa index` of them end to end, and how much of the boilerplate reached the index.
Each kbqa run is its own process (peak RSS from the kernel). The CPU's flags are printed first.

    python bench/bench_inputs.py --bombs [--before /tmp/kbqa-before] --workdir /tmp/kbqa-inputs

(issue 22) instead reads the field's bombs at their field sizes (tests/index/bombs.py: a 2.9 MB DOCX of spaces, a
2.3 MB deflate-bomb DOCX, 3 million empty paragraphs, a 50,000-row table page, a 17 MB page), each with `load_file`
(read + extract: a file's whole ingestion before cleaning) in a fresh process under a memory cap (RLIMIT_AS,
--cap-mb) and a timeout: this tree's code, and with --before that of another checkout (a `git worktree` of an
older commit), imported from there.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

NAV = ["Trang chủ", "Thời sự", "Thế giới", "Kinh doanh", "Giải trí", "Thể thao", "Pháp luật", "Sức khỏe"]
FOOTER = "Bản quyền thuộc về Báo Điện tử Tin Nhanh. Giấy phép số 123/GP-BTTTT. Liên hệ quảng cáo: 0901 234 567"
SCRIPT = "var trackingCode = 'UA-12345'; window.adsQueue = window.adsQueue || []; adsQueue.push('slot');"


def articles(path: Path, n: int | None = None):
    with path.open(encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if n is not None and i >= n:
                return
            yield json.loads(line)


def news_page(art: dict, related: list[str]) -> str:
    nav = "".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(NAV))
    rel = "".join(f'<li><a href="/tin/{i}.html">{html.escape(t)}</a></li>' for i, t in enumerate(related))
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in art["text"].split("\n") if p.strip())
    title = html.escape(art["title"])
    return (
        f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{title} - Tin Nhanh</title>'
        f'<meta property="og:title" content="{title}"><script>{SCRIPT}</script></head><body>'
        f'<header><nav class="menu"><ul>{nav}</ul></nav></header><main><article><h1>{title}</h1>{paras}</article>'
        f'<aside class="box-tinlienquan"><h3>Tin liên quan</h3><ul>{rel}</ul></aside></main>'
        f"<script>{SCRIPT}</script><footer><p>{FOOTER}</p></footer></body></html>"
    )


def write_inputs(src: Path, work: Path) -> tuple[Path, Path, list[str]]:
    big = work / "big" / "news-50mb.txt"
    pages = work / "html"
    if not big.exists():
        big.parent.mkdir(parents=True, exist_ok=True)
        with big.open("w", encoding="utf-8") as out:
            size = 0
            for i, art in enumerate(articles(src)):
                block = f"{art['title']}\n\n{art['text']}\n\n"
                if i == 100:  # one 5 MB line, the case that took 5 GB before
                    block = " ".join(art["text"].split()) * (5_000_000 // max(len(art["text"]), 1) + 1) + "\n\n"
                out.write(block)
                size += len(block.encode("utf-8"))
                if size >= 50 * 2**20:
                    break
    arts = list(articles(src, 1_000))
    titles = [a["title"] for a in arts]
    if not pages.exists():
        pages.mkdir(parents=True)
        for i, art in enumerate(arts):
            related = [titles[(i + j) % len(titles)] for j in (101, 202, 303)]
            (pages / f"{art['id']}.html").write_text(news_page(art, related), encoding="utf-8")
    return big, pages, titles


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, peak RSS MB, the process) of `kbqa <args>` in a fresh process (RSS via a wrapper's getrusage)."""
    code = (
        "import resource, runpy, sys; sys.argv = ['kbqa'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('kbqa.cli', run_name='__main__')\n"
        "finally:\n    print('PEAK_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    peak = next((float(x.split()[1]) for x in done.stderr.splitlines() if x.startswith("PEAK_MB")), float("nan"))
    return wall, peak, done


def read_clean_chunk(path: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall s, peak RSS MB and counts of reading, cleaning and chunking `path` (no embedding), in a fresh process."""
    code = (
        "import resource, sys, time\n"
        "from kbqa.index.build import _chunked, _texts, load_documents\n"
        "from kbqa.config import Settings\n"
        "t = time.perf_counter(); docs = load_documents([sys.argv[1]]).docs\n"
        "texts, _ = _texts(_chunked(docs, Settings()))\n"
        "titles = max(len(d.title) for d, _ in docs); longest = max(len(t) for t in texts)\n"
        "print(f'{time.perf_counter() - t:.2f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} '\n"
        "      f'{len(docs)} documents, {len(texts)} chunks, longest title {titles}, longest chunk text {longest}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        return float("nan"), float("nan"), done.stderr.strip().splitlines()[-1]
    wall, peak, rest = done.stdout.split(" ", 2)
    return float(wall), float(peak), rest.strip()


# imports kbqa from the checkout at argv[1] (its index/qa/ui folders as kbqa.index/qa/ui, not the editable install),
# reads argv[2] with load_file and prints what came of it
LOAD_FROM = """
import importlib.util, sys
root = sys.argv[1]
sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in type(f).__name__.lower()]
sys.path.insert(0, root)
import kbqa
for sub in ('index', 'qa', 'ui'):
    spec = importlib.util.spec_from_file_location(
        f'kbqa.{sub}', f'{root}/{sub}/__init__.py', submodule_search_locations=[f'{root}/{sub}'])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
from pathlib import Path
from kbqa.errors import InputError
from kbqa.index.formats import load_file
try:
    print(f'read {len(load_file(Path(sys.argv[2])).text):,} characters')
except InputError as exc:
    print(f'refused: {exc}')
except MemoryError:
    print('MemoryError')
"""


def bomb_files(work: Path) -> list[Path]:
    """The field's bombs at their field sizes, written once into work/bombs."""
    from tests.index import bombs

    folder = work / "bombs"
    folder.mkdir(parents=True, exist_ok=True)
    makers = {
        "spaces-2.9mb.docx": lambda: bombs.spaces_docx(2900),
        "deflate-bomb.docx": lambda: bombs.deflate_bomb_docx(2300),
        "empty-paragraphs-3m.docx": bombs.empty_paragraphs_docx,
        "table-50000-rows.html": lambda: bombs.table_html(50_000).encode(),
        "page-17mb.html": lambda: bombs.large_html(12).encode(),
    }
    for name, make in makers.items():
        if not (folder / name).exists():
            (folder / name).write_bytes(make())
    return [folder / name for name in makers]


def load_capped(root: Path, path: Path, cap_mb: int, timeout: float) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, outcome) of load_file(path) with `root`'s code under an address-space cap (the child's
    own peak, from wait4, killed or not)."""
    import resource
    import tempfile

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_mb * 2**20, cap_mb * 2**20))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", LOAD_FROM, str(root), str(path)],
            stdout=out,
            stderr=err,
            preexec_fn=cap,
            env={**os.environ, "PYTHONPATH": ""},
        )
        killed = False
        while True:
            pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                proc.kill()
                killed = True
                _, _, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
        proc.returncode = 0  # reaped above
        out.seek(0)
        err.seek(0)
        text, errors = out.read().strip(), err.read().strip()
    if killed:
        outcome = f"over {timeout:.0f} s (killed)"
    else:
        outcome = text.splitlines()[-1] if text else (errors.splitlines() or ["no output"])[-1]
    if "MemoryError" in outcome or "MemoryError" in errors:
        outcome = f"hit the {cap_mb} MB cap (MemoryError): {outcome}"
    return wall, usage.ru_maxrss / 1024, outcome


def bombs_main(args: argparse.Namespace) -> None:
    """Each bomb through load_file, before (--before) and after, one line each."""
    files = bomb_files(args.workdir)
    roots = ([("before", args.before)] if args.before else []) + [("after", ROOT)]
    print(f"memory cap {args.cap_mb} MB (RLIMIT_AS), timeout {args.timeout:.0f} s; peak RSS of each process")
    for label, root in roots:
        for path in files:
            wall, peak, outcome = load_capped(root, path, args.cap_mb, args.timeout)
            size = path.stat().st_size / 2**20
            print(f"{label:6} {path.name:26} {size:6.2f} MB: {wall:6.2f} s, peak RSS {peak:5.0f} MB; {outcome}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=Path, help="news_vi articles.jsonl (read, never copied)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kbqa-inputs"))
    ap.add_argument("--bombs", action="store_true", help="read the bombs of issue 22 instead (see above)")
    ap.add_argument("--before", type=Path, help="with --bombs: also read them with this checkout's code")
    ap.add_argument("--cap-mb", type=int, default=1024, help="with --bombs: the memory cap (RLIMIT_AS)")
    ap.add_argument("--timeout", type=float, default=120.0, help="with --bombs: seconds per file")
    args = ap.parse_args()
    if args.bombs:
        sys.path.insert(0, str(ROOT))
        return bombs_main(args)
    if args.articles is None:
        ap.error("--articles is required (or --bombs)")
    from bench_engines import cpu_flags

    print(f"cpu: {cpu_flags()}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    big, pages, _ = write_inputs(args.articles, args.workdir)
    env = {"HF_HUB_OFFLINE": "1", "KBQA_CACHE": str(args.workdir / "cache")}
    shutil.rmtree(args.workdir / "cache", ignore_errors=True)
    (args.workdir / "cache").mkdir()
    from kbqa.config import load_settings

    users = Path(load_settings().cache)
    for name in os.listdir(users):  # share the converted model, its exports and the engine pick
        if name != "embeddings.sqlite" and not name.startswith("embeddings.sqlite"):
            os.symlink(users / name, args.workdir / "cache" / name)

    size_mb = big.stat().st_size / 2**20
    store = args.workdir / "store-big"
    shutil.rmtree(store, ignore_errors=True)
    wall, peak, done = run(["index", str(big), "--store", str(store)], env)
    message = done.stderr.strip().splitlines()[0] if done.stderr.strip() else ""
    print(
        f"{size_mb:.1f} MB file, default limit: exit {done.returncode} in {wall:.2f} s, "
        f"peak RSS {peak:.0f} MB: {message}"
    )
    wall, peak, counts = read_clean_chunk(big, {**env, "KBQA_MAX_FILE_MB": "64"})
    print(
        f"{size_mb:.1f} MB file, KBQA_MAX_FILE_MB=64, read + clean + chunk: {wall:.2f} s, "
        f"peak RSS {peak:.0f} MB; {counts}"
    )

    store = args.workdir / "store-html"
    shutil.rmtree(store, ignore_errors=True)
    wall, peak, done = run(["index", str(pages), "--store", str(store), "--json", "--no-progress"], env)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"1,000 HTML pages, fresh `kbqa index`: {wall:.1f} s wall, peak RSS {peak:.0f} MB; {report['documents']} "
        f"documents, {report['chunks']} chunks, engine {report['engine']}, phases "
        + ", ".join(f"{k} {v:.1f} s" for k, v in report["phases"].items())
    )
    sys.path.insert(0, str(ROOT))
    from kbqa.index.store.embedded import Store

    index = Store(store, vectors=False)
    try:
        texts = list(index.chunk_texts()[1])
    finally:
        index.close()
    leaked = {s: sum(s in t for t in texts) for s in ("Tin liên quan", "Trang chủ", "trackingCode", "Bản quyền thuộc")}
    print(f"boilerplate in the {len(texts)} indexed chunks (chunks holding it): {leaked}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
