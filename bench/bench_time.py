"""Time-aware QA (issue 21): latest@1, dated@1, outside -> not found and answers naming their date, via the CLI.

An archive of daily news series (gold, live hog, USD, Bitcoin, fuel, weather, the war in Ukraine) plus random
distractors is written from news_rss/items.jsonl as Markdown files with front matter, indexed with `kbqa index`,
and asked through `kbqa ask --json` in batch mode (stdin), with `--as-of` per question when the CLI has it.
Questions and their gold (topic keywords, target day) are generated from the data with a seed; tune/test halves
by a hash of the question.

    python bench/bench_time.py --work /tmp/benchtime --split all --json /tmp/bench_time.json
    PYTHONPATH=/tmp/src python bench/bench_time.py ...   # kbqa from another checkout (kbqa/{index,qa,ui} linked)
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ROOT.parent / "shared" / "data" / "news_rss" / "items.jsonl"
KBQA = [sys.executable, "-m", "kbqa"]
VN = timezone(timedelta(hours=7))
MONTHS = [calendar.month_name[m] for m in range(13)]


@dataclass(frozen=True)
class Series:
    """A daily series: its headline pattern (picks archive items), topic keywords (on-topic test), phrasings."""

    key: str
    title: str
    keywords: tuple[str, ...]
    vi: str
    en: str
    latest_vi: tuple[str, ...]
    latest_en: tuple[str, ...]
    dated_vi: str = "{T} {when} thế nào?"
    dated_en: str = "What was {t} {when}?"


SERIES = (
    Series(
        "gold",
        r"giá vàng",
        ("giá vàng",),
        "giá vàng",
        "the gold price",
        ("Giá vàng mới nhất thế nào?", "Giá vàng hôm nay ra sao?", "Giá vàng hiện nay bao nhiêu?"),
        ("What is the latest gold price?", "What is the gold price today?"),
    ),
    Series(
        "hog",
        r"giá (heo|lợn) hơi",
        ("heo hơi", "lợn hơi"),
        "giá heo hơi",
        "the live hog price",
        ("Giá heo hơi mới nhất thế nào?", "Giá heo hơi hôm nay ra sao?", "Giá lợn hơi hiện nay bao nhiêu?"),
        ("What is the latest live hog price?", "What is the live hog price today?"),
    ),
    Series(
        "usd",
        r"tỷ giá|giá (usd|đô)",
        ("tỷ giá", "giá usd", "giá đô"),
        "giá USD",
        "the US dollar exchange rate",
        ("Tỷ giá USD mới nhất thế nào?", "Giá USD hôm nay ra sao?", "Giá đô la Mỹ hiện nay bao nhiêu?"),
        ("What is the latest US dollar exchange rate?", "What is the USD rate today?"),
    ),
    Series(
        "bitcoin",
        r"bitcoin",
        ("bitcoin",),
        "giá Bitcoin",
        "the Bitcoin price",
        ("Giá Bitcoin mới nhất thế nào?", "Giá Bitcoin hôm nay ra sao?", "Bitcoin hiện nay giá bao nhiêu?"),
        ("What is the latest Bitcoin price?", "How much is Bitcoin today?"),
    ),
    Series(
        "fuel",
        r"giá xăng|xăng dầu",
        ("giá xăng", "xăng dầu"),
        "giá xăng dầu",
        "the fuel price",
        ("Giá xăng dầu mới nhất thế nào?", "Giá xăng hôm nay bao nhiêu?", "Giá xăng dầu hiện nay ra sao?"),
        ("What are the latest fuel prices?", "What is the petrol price today?"),
    ),
    Series(
        "weather",
        r"thời tiết",
        ("thời tiết",),
        "thời tiết",
        "the weather",
        ("Thời tiết mới nhất thế nào?", "Thời tiết hôm nay ra sao?", "Dự báo thời tiết gần đây nhất thế nào?"),
        ("What is the latest weather forecast?", "What's the weather today?"),
    ),
    Series(
        "ukraine",
        r"chiến sự ukraine|nga\s*[-–]\s*ukraine",
        ("ukraine",),
        "chiến sự Ukraine",
        "the war in Ukraine",
        (
            "Chiến sự Ukraine mới nhất thế nào?",
            "Tình hình chiến sự Ukraine hôm nay ra sao?",
            "Tình hình Nga – Ukraine hiện nay thế nào?",
        ),
        ("What's the latest on the war in Ukraine?", "What is happening in the war in Ukraine today?"),
        dated_vi="Tình hình {t} {when} thế nào?",
        dated_en="What happened in {t} {when}?",
    ),
)

# date phrasings: (format name, day-level template or month-level, has a year)
VI_FORMATS = {
    "d/m/yyyy": "ngày {d}/{m}/{y}",
    "dd/mm/yyyy": "ngày {d:02d}/{m:02d}/{y}",
    "d-m": "ngày {d}-{m}",
    "d.m.yyyy": "ngày {d}.{m}.{y}",
    "d tháng m năm yyyy": "ngày {d} tháng {m} năm {y}",
    "tháng m/yyyy": "tháng {m}/{y}",
}
EN_FORMATS = {
    "Month d, yyyy": "on {M} {d}, {y}",
    "d Month yyyy": "on {d} {M} {y}",
    "yyyy-mm-dd": "on {y}-{m:02d}-{d:02d}",
    "Month d": "on {M} {d}",
    "in Month yyyy": "in {M} {y}",
}
NO_YEAR = {"d-m", "Month d"}
MONTH_LEVEL = {"tháng m/yyyy", "in Month yyyy"}


@dataclass
class Question:
    """One generated question and its gold."""

    question: str
    kind: str  # latest | dated | outside
    lang: str
    series: str
    fmt: str
    as_of: str
    keywords: tuple[str, ...]
    target: str = ""  # latest: the newest on-topic day; dated: the day (or YYYY-MM); outside: the asked day
    split: str = ""


@dataclass
class Result:
    """A question's answer, scored."""

    q: Question
    found: bool = False
    error: str = ""
    answer: str = ""
    cited: str = ""  # the first citation's title
    cited_day: str = ""
    on_topic: bool = False
    hit: bool = False
    names_date: bool = False
    extra: dict = field(default_factory=dict)


def norm(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", text).lower()


def local_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone(VN).date()


def load_items(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def series_items(items: list[dict]) -> dict[str, list[dict]]:
    """Each series' items, picked by headline (an item goes to the first series whose pattern it matches)."""
    picked: dict[str, list[dict]] = {s.key: [] for s in SERIES}
    for item in items:
        title = norm(item["title"])
        hit = next((s for s in SERIES if re.search(s.title, title)), None)
        if hit:
            picked[hit.key].append(item)
    return picked


def select_archive(items: list[dict], distractors: int, seed: int) -> tuple[list[dict], dict[str, list[dict]]]:
    """The series' items plus a seeded random sample of the other items, in publication order."""
    picked = series_items(items)
    taken = {i["id"] for group in picked.values() for i in group}
    others = [i for i in items if i["id"] not in taken]
    sample = random.Random(seed).sample(others, min(distractors, len(others)))
    archive = sorted([*(i for g in picked.values() for i in g), *sample], key=lambda i: (i["published"], i["id"]))
    return archive, picked


def _quoted(value: str) -> str:
    return '"' + value.replace('"', "”").replace("\n", " ") + '"'


def markdown(item: dict) -> str:
    return (
        f"---\ntitle: {_quoted(item['title'])}\ndate: {item['published']}\nsource: {_quoted(item['source'])}\n"
        f"link: {item['link']}\n---\n\n# {item['title']}\n\n{item['summary']}\n"
    )


def write_archive(archive: list[dict], folder: Path) -> None:
    """One Markdown file per item (rewritten only when changed; files of items no longer picked removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{i['id']}.md": markdown(i) for i in archive}
    for path in folder.glob("*.md"):
        if path.name not in wanted:
            path.unlink()
    for name, text in wanted.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def on_topic(text: str, keywords: tuple[str, ...]) -> bool:
    text = norm(text)
    return any(k in text for k in keywords)


def topic_days(archive: list[dict], keywords: tuple[str, ...]) -> list[date]:
    """Days (+07:00) holding an archive item whose title or summary has a topic keyword."""
    return sorted({local_day(i["published"]) for i in archive if on_topic(i["title"] + " " + i["summary"], keywords)})


def stamp(day: date) -> str:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=VN).isoformat()


def when_text(fmt: str, lang: str, day: date) -> str:
    spec = (VI_FORMATS if lang == "vi" else EN_FORMATS)[fmt]
    return spec.format(d=day.day, m=day.month, y=day.year, M=MONTHS[day.month])


def dated_question(series: Series, lang: str, fmt: str, day: date) -> str:
    when = when_text(fmt, lang, day)
    if lang == "vi":
        text = series.dated_vi.format(T=series.vi, t=series.vi, when=when)
    else:
        text = series.dated_en.format(t=series.en, when=when)
    return text[0].upper() + text[1:]


def latest_questions(series: Series, newest: date) -> list[Question]:
    as_of = stamp(newest + timedelta(days=1))
    pairs = [("vi", q) for q in series.latest_vi] + [("en", q) for q in series.latest_en]
    day = newest.isoformat()
    return [Question(q, "latest", lang, series.key, "latest", as_of, series.keywords, day) for lang, q in pairs]


def dated_questions(series: Series, days: list[date], as_of: str, rng: random.Random) -> list[Question]:
    """One question per date format and language, on a day (or a month) the series covers."""
    out = []
    for lang, formats in (("vi", VI_FORMATS), ("en", EN_FORMATS)):
        for fmt in formats:
            day = rng.choice(days)
            target = day.isoformat()[:7] if fmt in MONTH_LEVEL else day.isoformat()
            text = dated_question(series, lang, fmt, day)
            out.append(Question(text, "dated", lang, series.key, fmt, as_of, series.keywords, target))
    return out


def outside_day(rng: random.Random, first: date, last: date, before: bool, no_year: bool) -> date:
    """A day before the archive began (within the year before it for a year-less format) or after it ended."""
    if before:
        low = first - timedelta(days=150) if no_year else date(2023, 1, 1)
        return low + timedelta(days=rng.randrange((first - timedelta(days=7) - low).days))
    return last + timedelta(days=rng.randrange(8, 120))


def outside_questions(series: Series, first: date, last: date, as_of: str, rng: random.Random) -> list[Question]:
    """Two questions per language: a date before the archive began and one after it ended."""
    out = []
    for lang, formats in (("vi", list(VI_FORMATS)), ("en", list(EN_FORMATS))):
        for before in (True, False):
            fmt = rng.choice([f for f in formats if before or f not in NO_YEAR])
            day = outside_day(rng, first, last, before, fmt in NO_YEAR)
            text = dated_question(series, lang, fmt, day)
            out.append(Question(text, "outside", lang, series.key, fmt, as_of, series.keywords, day.isoformat()))
    return out


def split_of(question: str) -> str:
    return "tune" if hashlib.sha256(question.encode()).digest()[0] % 2 == 0 else "test"


def make_questions(archive: list[dict], picked: dict[str, list[dict]], seed: int) -> list[Question]:
    rng = random.Random(seed)
    first, last = local_day(archive[0]["published"]), local_day(archive[-1]["published"])
    as_of = stamp(last + timedelta(days=1))
    questions: list[Question] = []
    for series in SERIES:
        days = sorted({local_day(i["published"]) for i in picked[series.key]})
        questions += latest_questions(series, topic_days(archive, series.keywords)[-1])
        questions += dated_questions(series, days, as_of, rng)
        questions += outside_questions(series, first, last, as_of, rng)
    for q in questions:
        q.split = split_of(q.question)
    return questions


def supports_as_of(env: dict[str, str]) -> bool:
    out = subprocess.run([*KBQA, "ask", "--help"], capture_output=True, text=True, env=env, check=False)
    return "--as-of" in out.stdout


def build_index(archive_dir: Path, store: Path, env: dict[str, str]) -> dict:
    """`kbqa index` of the archive (a sync: unchanged files are skipped); its report and wall seconds."""
    start = time.perf_counter()
    cmd = [*KBQA, "index", "--json", "--no-progress", "--store", str(store), str(archive_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        sys.exit(f"kbqa index failed ({out.returncode}): {out.stderr[-2000:]}")
    seconds = time.perf_counter() - start
    try:
        report = json.loads(out.stdout[out.stdout.index("{") :])
    except ValueError:
        report = {"stdout": out.stdout[-500:]}
    return {"seconds": round(seconds, 1), "report": report}


def ask_batch(questions: list[str], extra: list[str], env: dict[str, str]) -> tuple[list[dict], list[float]]:
    """Answers of one batch-mode process (JSON Lines) and the seconds between consecutive answers."""
    cmd = [*KBQA, "ask", "--json", *extra]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def feed() -> None:
        assert proc.stdin is not None
        proc.stdin.write("".join(q.replace("\n", " ") + "\n" for q in questions))
        proc.stdin.close()

    threading.Thread(target=feed, daemon=True).start()
    answers, stamps = [], []
    assert proc.stdout is not None
    for line in proc.stdout:
        stamps.append(time.perf_counter())
        answers.append(json.loads(line) if line.strip().startswith("{") else {"error": line.strip()})
    proc.wait()
    answers += [{"error": f"no answer (exit {proc.returncode})"}] * (len(questions) - len(answers))
    return answers, [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def ask_all(questions: list[Question], store: Path, as_of: bool, env: dict[str, str]) -> tuple[list[dict], list[float]]:
    """Every question through batch mode: one process per reference time when --as-of is supported, else one."""
    groups: dict[str, list[int]] = defaultdict(list)
    for n, q in enumerate(questions):
        groups[q.as_of if as_of else ""].append(n)
    answers: list[dict] = [{}] * len(questions)
    gaps: list[float] = []
    for ref, members in groups.items():
        extra = ["--store", str(store), *(["--as-of", ref] if ref else [])]
        got, seconds = ask_batch([questions[n].question for n in members], extra, env)
        gaps += seconds
        for n, answer in zip(members, got, strict=True):
            answers[n] = answer
    return answers, gaps


def cited_day(citation: dict, published: dict[str, str]) -> date | None:
    """The cited document's day: its `published` when the JSON has it, else the item's (by file name)."""
    if citation.get("published"):
        return local_day(citation["published"])
    stem = Path(citation.get("source") or "").stem
    return local_day(published[stem]) if stem in published else None


def date_forms(day: date) -> list[str]:
    """Regexes for a day as an answer may name it."""
    d, m, y, name = day.day, day.month, day.year, MONTHS[day.month]
    return [
        rf"(?<!\d)0?{d}/0?{m}/{y}(?!\d)",
        rf"ngày 0?{d}/0?{m}(?![\d/])",
        rf"(?<!\d){d} tháng 0?{m}(?!\d)",
        rf"(?<!\d)0?{d} {name},? {y}",
        rf"{name} 0?{d}(st|nd|rd|th)?, {y}",
        rf"{y}-{m:02d}-{d:02d}",
    ]


def names_date(answer: str, day: date) -> bool:
    return any(re.search(p, answer, re.I) for p in date_forms(day))


def in_target(q: Question, day: date) -> bool:
    if q.kind == "dated" and len(q.target) == 7:
        year, month = map(int, q.target.split("-"))
        low, high = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return low - timedelta(days=1) <= day <= high + timedelta(days=1)
    return abs((day - date.fromisoformat(q.target)).days) <= 1


def score(q: Question, answer: dict, published: dict[str, str]) -> Result:
    r = Result(q, found=bool(answer.get("found")), error=answer.get("error", ""), answer=answer.get("answer", ""))
    r.extra = {"when": answer.get("when")} if "when" in answer else {}
    citations = answer.get("citations") or []
    if q.kind == "outside":
        r.hit = not r.found and not r.error
    if not r.found or not citations:
        return r
    first = citations[0]
    day = cited_day(first, published)
    r.cited, r.cited_day = first.get("title", ""), day.isoformat() if day else ""
    r.on_topic = on_topic(f"{first.get('title', '')} {first.get('passage', '')}", q.keywords)
    r.names_date = bool(day) and names_date(r.answer, day)
    if q.kind != "outside":
        r.hit = r.on_topic and day is not None and in_target(q, day)
    return r


METRICS = (("latest@1", "latest"), ("dated@1", "dated"), ("outside -> not found", "outside"))


def tally(results: list[Result], split: str) -> dict[str, dict[str, list[int]]]:
    """{metric: {lang: [hits, n]}} over one split ('all': both)."""
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in results:
        if split != "all" and r.q.split != split:
            continue
        for lang in (r.q.lang, "both"):
            name = dict((k, m) for m, k in METRICS)[r.q.kind]
            cell = table[name][lang]
            cell[0], cell[1] = cell[0] + r.hit, cell[1] + 1
            if r.q.kind != "outside":
                found = table[f"{name}: answered"][lang]
                found[0], found[1] = found[0] + r.found, found[1] + 1
                topic = table[f"{name}: on topic"][lang]
                topic[0], topic[1] = topic[0] + r.on_topic, topic[1] + 1
            if r.found:
                named = table["answers naming the date"][lang]
                named[0], named[1] = named[0] + r.names_date, named[1] + 1
    return {k: dict(v) for k, v in table.items()}


def cell(pair: list[int] | None) -> str:
    if not pair or not pair[1]:
        return "–"
    return f"{pair[0]}/{pair[1]} ({pair[0] / pair[1]:.2f})"


def print_table(tables: dict[str, dict], splits: list[str]) -> None:
    print("| metric | lang | " + " | ".join(splits) + " |")
    print("|---|---|" + "---|" * len(splits))
    names = [m for m, _ in METRICS] + ["answers naming the date"]
    names += [f"{m}: {x}" for m, k in METRICS if k != "outside" for x in ("answered", "on topic")]
    for name in names:
        for lang in ("vi", "en", "both"):
            row = [cell(tables[s].get(name, {}).get(lang)) for s in splits]
            print(f"| {name} | {lang} | " + " | ".join(row) + " |")


def print_formats(results: list[Result]) -> None:
    """dated@1 and outside by date format (all splits), for the implementers."""
    by: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        if r.q.kind in ("dated", "outside"):
            c = by[(r.q.kind, r.q.lang, r.q.fmt)]
            c[0], c[1] = c[0] + r.hit, c[1] + 1
    print("\n| kind | lang | format | hits (all splits) |\n|---|---|---|---|")
    for (kind, lang, fmt), pair in sorted(by.items()):
        print(f"| {kind} | {lang} | {fmt} | {cell(pair)} |")


def machine() -> dict:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = re.search(r"model name\s*:\s*(.*)", info)
    flags = set((re.search(r"flags\s*:\s*(.*)", info) or re.search("()", "")).group(1).split())
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    return {
        "cpu": model.group(1) if model else "?",
        "cores": os.cpu_count(),
        "flags": [f for f in wanted if f in flags],
        "load": [round(x, 2) for x in os.getloadavg()],
    }


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, default=ITEMS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/benchtime"), help="archive, store, answers")
    parser.add_argument("--store", type=Path, help="default: WORK/store")
    parser.add_argument("--cache", type=Path, help="KBQA_CACHE for the runs (default: kbqa's own)")
    parser.add_argument("--split", choices=("tune", "test", "all"), default="all")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    parser.add_argument("--limit", type=int, help="ask only the first N questions (a quick run)")
    parser.add_argument("--distractors", type=int, default=2200)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()

    args.work, args.items = args.work.resolve(), args.items.resolve()
    args.store = args.store.resolve() if args.store else args.work / "store"
    args.work.mkdir(parents=True, exist_ok=True)
    os.chdir(args.work)  # `python -m kbqa` puts the cwd first on sys.path: never the repo's kbqa by accident
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # each answer line as it is written: the gaps are the latency
    if args.cache:
        env["KBQA_CACHE"] = str(args.cache)
    store = args.store
    load_before = machine()["load"]
    items = load_items(args.items)
    archive, picked = select_archive(items, args.distractors, args.seed)
    write_archive(archive, args.work / "archive")
    questions = make_questions(archive, picked, args.seed)
    questions = [q for q in questions if args.split == "all" or q.split == args.split][: args.limit]
    series = series_summary(archive, picked)
    print_series(archive, series, questions)

    index = build_index(args.work / "archive", store, env)
    as_of = supports_as_of(env)
    print(f"\nindex: {index['seconds']} s; --as-of supported: {as_of}")
    start = time.perf_counter()
    answers, gaps = ask_all(questions, store, as_of, env)
    ask_seconds = time.perf_counter() - start
    published = {i["id"]: i["published"] for i in archive}
    results = [score(q, a, published) for q, a in zip(questions, answers, strict=True)]
    lines = (json.dumps({**asdict(r), "raw": a}, ensure_ascii=False) for r, a in zip(results, answers, strict=True))
    (args.work / "answers.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    splits = ["tune", "test", "all"] if args.split == "all" else [args.split]
    tables = {s: tally(results, s) for s in splits}
    print()
    print_table(tables, splits)
    print_formats(results)
    meta = run_meta(index, as_of, ask_seconds, gaps, load_before, results, env)
    print_meta(meta)
    if args.json:
        out = {"meta": meta, "series": series, "metrics": tables, "questions": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


def series_summary(archive: list[dict], picked: dict[str, list[dict]]) -> dict[str, dict]:
    out = {}
    for s in SERIES:
        days = sorted({local_day(i["published"]) for i in picked[s.key]})
        topical = topic_days(archive, s.keywords)
        out[s.key] = {
            "items": len(picked[s.key]),
            "days": len(days),
            "first": days[0].isoformat(),
            "last": days[-1].isoformat(),
            "on_topic_days": len(topical),
            "newest_on_topic": topical[-1].isoformat(),
        }
    return out


def print_series(archive: list[dict], series: dict[str, dict], questions: list[Question]) -> None:
    first, last = archive[0]["published"][:10], archive[-1]["published"][:10]
    print(f"archive: {len(archive)} items, {first} .. {last}")
    print("| series | items | days | first | last | days with an on-topic item | newest |")
    print("|---|---|---|---|---|---|---|")
    for key, s in series.items():
        row = (key, s["items"], s["days"], s["first"], s["last"], s["on_topic_days"], s["newest_on_topic"])
        print("| " + " | ".join(map(str, row)) + " |")
    counts: dict[str, int] = defaultdict(int)
    for q in questions:
        counts[f"{q.split} {q.kind} {q.lang}"] += 1
    print("questions: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def run_meta(
    index: dict, as_of: bool, seconds: float, gaps: list[float], load: list[float], results: list[Result], env: dict
) -> dict:
    version = subprocess.run([*KBQA, "--version"], capture_output=True, text=True, env=env, check=False)
    return {
        "kbqa": version.stdout.strip(),
        "pythonpath": env.get("PYTHONPATH", ""),
        "as_of_supported": as_of,
        "index": index,
        "questions": len(results),
        "errors": sum(bool(r.error) for r in results),
        "ask_seconds": round(seconds, 1),
        "warm_p50_s": percentile(gaps, 0.5),
        "warm_p95_s": percentile(gaps, 0.95),
        "machine": machine(),
        "load_before": load,
        "date": datetime.now(VN).isoformat(timespec="seconds"),
    }


def print_meta(meta: dict) -> None:
    m = meta["machine"]
    print(
        f"\n{meta['questions']} questions ({meta['errors']} errors) in {meta['ask_seconds']} s; warm ask p50 "
        f"{meta['warm_p50_s']} s, p95 {meta['warm_p95_s']} s (gaps between batch answers)"
    )
    print(f"{meta['kbqa']} PYTHONPATH={meta['pythonpath'] or '-'}; --as-of: {meta['as_of_supported']}")
    print(f"CPU: {m['cpu']} x{m['cores']}, flags {' '.join(m['flags'])}; load {meta['load_before']} -> {m['load']}")


if __name__ == "__main__":
    main()
