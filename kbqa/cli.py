"""The `kbqa` command line: index, ask (one question, or one per stdin line). Output formatting only."""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kbqa.config import Settings, load_settings
from kbqa.errors import IndexMissingError, KbqaError

if TYPE_CHECKING:
    from kbqa.index.store.api import Health
    from kbqa.qa.chain import Assistant

SEEDS = "seeds"
STORE_HELP = "Index folder, or postgresql://user:pass@host/db [env KBQA_STORE; default .kbqa]."
WAIT_HELP = f"Seconds to wait for another writer [env KBQA_LOCK_WAIT; default {Settings.lock_wait:g}]."


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"kbqa: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """User errors become one line on stderr and exit 1; Ctrl-C exits 130. Nothing else is caught."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KbqaError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; the index is as it was before this run", 130)
        except (sqlite3.DatabaseError, OSError, ValueError, RuntimeError, EOFError):
            if "store" not in kwargs:
                raise
            _fail_if_damaged(kwargs["store"])  # a store file broke under the command: name it and the fix
            raise
        except Exception as exc:
            if not type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
                raise
            from kbqa.index.store.api import error_line as one_line

            location = kwargs.get("store_url") or load_settings({"store": kwargs.get("store")}).store
            _fail(f"the store's server failed: {one_line(exc, location)}; the index is as the last commit left it")

    return wrapper


def _fail_if_damaged(store: str | None) -> None:
    """One line naming the damaged store file and its fix, if an error came from one (else return)."""
    from kbqa.index.store.api import damage

    error = damage(load_settings({"store": store}).store)
    if error is not None:
        _fail(str(error))


def store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--store and --embedder, shared by every command that opens the index."""
    func = click.option("--embedder", help="Embedder name [env KBQA_EMBEDDER; default e5-small-q4].")(func)
    return click.option("--store", type=click.Path(file_okay=False), help=STORE_HELP)(func)


def llm_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--llm and --llm-base-url, shared by the commands that answer."""
    func = click.option(
        "--llm-base-url", help="OpenAI-compatible server URL for openai:<model> [env KBQA_LLM_BASE_URL]."
    )(func)
    return click.option(
        "--llm",
        help="Answer in prose through a chat model: ollama:<model>, openai:<model>, llamacpp:<file.gguf> "
        "[env KBQA_LLM; default: none, extractive]. Needs pip install -e '.[llm]'.",
    )(func)


class OneLineUsage(click.UsageError):
    """A usage error shown as one `kbqa: error: …` line (click's own shows usage, a hint and the error: 4 lines)."""

    def show(self, file: Any = None) -> None:
        click.echo(f"kbqa: error: {' '.join(self.format_message().split())}", err=True)


def _one_line(exc: click.UsageError) -> click.UsageError:
    """`exc` as a OneLineUsage, except a bare `kbqa` (whose "error" is the help text, left as it is)."""
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", OneLineUsage)  # click >= 8.2
    if isinstance(exc, (OneLineUsage, no_args)):
        return exc
    return OneLineUsage(exc.format_message(), exc.ctx)


class KbqaGroup(click.Group):
    """The kbqa command group: its and its commands' usage errors (bad option, bad value, unknown command) are one
    line; --help and a bare `kbqa` are click's own."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None


@click.group(cls=KbqaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kbqa", prog_name="kbqa", message="%(prog)s %(version)s")
def main() -> None:
    """kbqa: ask questions about a folder of articles; every answer cites its passages."""
    from kbqa.logs import install_stderr_handler

    install_stderr_handler()  # the library's notices (skipped files, waits, one-time conversions): `kbqa: …` lines


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--rebuild", is_flag=True, help="Start from an empty index instead of updating the current one.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress [default: a bar on a terminal, else a line every 10 s on stderr].",
)
@click.option("--wait", type=float, help=WAIT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report (counts, engine, seconds per phase) as JSON.")
@click.option("--strict", is_flag=True, help="Stop at the first unreadable file instead of skipping it.")
@store_options
@handle_errors
def index_cmd(
    paths: tuple[str, ...],
    rebuild: bool,
    progress: bool | None,
    wait: float | None,
    as_json: bool,
    strict: bool,
    store: str | None,
    embedder: str | None,
) -> None:
    """Sync the index with the files in PATHS (default: seeds/; .txt .md .html .pdf .docx): new and changed
    documents are embedded, unchanged ones skipped, documents whose files are gone removed. Unreadable files are
    skipped with a one-line reason (their documents already indexed stay)."""
    from kbqa.index.build import update_index

    settings = load_settings({"store": store, "embedder": embedder})
    report = update_index(
        paths or [SEEDS], settings, sync=True, rebuild=rebuild, show_progress=progress, wait=wait, strict=strict
    )
    click.echo(f"kbqa: {report.summary()}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress [default: a bar on a terminal, else a line every 10 s on stderr].",
)
@click.option("--wait", type=float, help=WAIT_HELP)
@click.option("--strict", is_flag=True, help="Stop at the first unreadable file instead of skipping it.")
@store_options
@handle_errors
def add(
    paths: tuple[str, ...],
    progress: bool | None,
    wait: float | None,
    strict: bool,
    store: str | None,
    embedder: str | None,
) -> None:
    """Add (or update) the files in PATHS (.txt .md .html .pdf .docx); nothing else in the index changes."""
    from kbqa.index.build import add_paths

    settings = load_settings({"store": store, "embedder": embedder})
    report = add_paths(paths, settings, show_progress=progress, wait=wait, strict=strict)
    click.echo(f"kbqa: {report.summary()}", err=True)


@main.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--wait", type=float, help=WAIT_HELP)
@click.option("--store", type=click.Path(file_okay=False), help=STORE_HELP)
@handle_errors
def remove(targets: tuple[str, ...], wait: float | None, store: str | None) -> None:
    """Remove documents by id (as `kbqa list` shows) or by file or folder path."""
    from kbqa.index.build import remove_documents

    report = remove_documents(targets, load_settings({"store": store}), wait=wait)
    for doc_id in report.removed:
        click.echo(doc_id)
    click.echo(f"kbqa: {report.summary()}", err=True)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per document (JSON Lines).")
@click.option("--store", type=click.Path(file_okay=False), help=STORE_HELP)
@handle_errors
def list_cmd(as_json: bool, store: str | None) -> None:
    """List the indexed documents: id, title, date, published (YYYY-MM-DD HH:MM, or -), source, chunk count,
    time added."""
    from kbqa.index.store.api import open_store

    settings = load_settings({"store": store})
    index = open_store(settings.store, vectors=False, pool_size=settings.pg_pool, settings=settings)
    for doc in index.documents():
        added = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(doc.added))
        if as_json:
            click.echo(json.dumps({**doc.to_json(), "added": added}, ensure_ascii=False))
        else:
            published = doc.published[:16].replace("T", " ") if doc.published else "-"
            cells = [doc.doc_id, doc.title, doc.date, published, doc.source, str(doc.chunks), added]
            click.echo("\t".join(_cell(c) for c in cells))


def _cell(value: object) -> str:
    """A column of `kbqa list`: tabs, newlines and other control characters (e.g. in a file name) shown escaped,
    so that every document stays one line of tab-separated columns."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


@main.command()
@click.option("--store", type=click.Path(file_okay=False), help=STORE_HELP)
@handle_errors
def check(store: str | None) -> None:
    """Say whether the index (and the embedding cache) is sound; if not, one line per problem with its fix.
    Exit 0 when sound, 1 when damaged."""
    from kbqa.index.store.api import check_store

    settings = load_settings({"store": store})
    _report_check(check_store(settings.store, settings.cache, settings))


@main.command()
@click.option("--from", "source", required=True, help="The store to read: a folder or postgresql://user:pass@host/db.")
@click.option("--to", "destination", required=True, help="The store to write: a folder or postgresql://….")
@click.option("--rebuild", is_flag=True, help="Replace an index the destination already holds.")
@click.option("--wait", type=float, help=WAIT_HELP)
@handle_errors
def migrate(source: str, destination: str, rebuild: bool, wait: float | None) -> None:
    """Move an index to another store (folder ⇄ PostgreSQL) without re-embedding: documents, chunks with their
    offsets and marks, and their stored vectors, written in one commit. The source is not changed."""
    from kbqa.index.store.migrate import migrate as move

    last = [0.0]

    def progress(done: int, total: int, chunks: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 2 or done == total:
            last[0] = now
            click.echo(f"kbqa: migrating: {done}/{total} document(s), {chunks} chunk(s)", err=True)

    wait = load_settings().lock_wait if wait is None else wait
    report = move(source, destination, rebuild=rebuild, wait=wait, progress=progress)
    click.echo(f"kbqa: {report.summary()}", err=True)


def _report_check(health: Health) -> None:
    """`kbqa check`'s verdict: a line per problem and exit 1, else what the sound index holds."""
    for line in health.problems:
        click.echo(f"kbqa: damaged: {line}", err=True)
    if health.problems:
        sys.exit(1)
    manifest = health.manifest
    if manifest is None:
        click.echo(f"kbqa: no index at {health.where} (nothing to check); the embedding cache is sound", err=True)
    else:
        click.echo(
            f"kbqa: the index at {health.where} is sound: {manifest.documents} document(s), "
            f"{manifest.chunks} chunk(s), generation {manifest.generation}; the embedding cache is sound",
            err=True,
        )


def _shown(location: str) -> str:
    """A store location as printed: a server's without its password."""
    from kbqa.index.store.api import display

    return display(location)


def _open_assistant(settings: Settings) -> Assistant:
    from kbqa.qa.chain import Assistant

    try:
        return Assistant(settings)
    except IndexMissingError:
        if not Path(SEEDS).is_dir():
            raise
        from kbqa.index.build import build_index

        click.echo(f"kbqa: no index at {_shown(settings.store)} yet: building one from {SEEDS}/ first", err=True)
        report = build_index([SEEDS], settings, show_progress=True)
        click.echo(f"kbqa: {report.summary()}", err=True)
        return Assistant(settings)


def _check_words(question: str) -> None:
    """A one-line InputError for a question with something in it but no letter or digit (only emoji or
    punctuation): nothing to search for, and any passage found would be an answer to nothing."""
    from kbqa.errors import InputError

    if question.strip() and not any(c.isalnum() for c in question):
        raise InputError("the question has no words to search for (only emoji, symbols or punctuation)")


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (JSON Lines in batch mode).")
@click.option("--k", type=int, help=f"How many passages to retrieve [env KBQA_K; default {Settings.k}].")
@click.option("--since", help="Only articles published on or after this day (2026-05-12 or 12/5/2026).")
@click.option("--until", help="Only articles published on or before this day.")
@click.option("--as-of", "as_of", help="The time 'today' and 'latest' mean (ISO 8601, e.g. 2026-05-12) [default: now].")
@llm_options
@store_options
@handle_errors
def ask(
    question: str | None,
    as_json: bool,
    k: int | None,
    since: str | None,
    until: str | None,
    as_of: str | None,
    llm: str | None,
    llm_base_url: str | None,
    store: str | None,
    embedder: str | None,
) -> None:
    """Answer QUESTION with citations. Without QUESTION, answer each line of stdin (model loaded once). Dates in
    the question ("ngày 12/5/2026", "last week", "mới nhất") limit or order the search; --since/--until set the
    window instead."""
    from kbqa.errors import InputError
    from kbqa.qa.render import answer_text, one_line
    from kbqa.qa.timeline import period_of

    settings = load_settings({"store": store, "embedder": embedder, "k": k, "llm": llm, "llm_base_url": llm_base_url})
    period = period_of(as_of, since, until)
    if question is not None and not question.strip():
        raise InputError("the question is empty")
    if question is not None:
        _check_words(question)
    assistant = _open_assistant(settings)
    if question is not None and not as_json and settings.llm:  # an LLM's tokens are shown as they come
        from kbqa.qa.answer import Answer
        from kbqa.qa.contracts import Delta

        answer, streamed = None, False
        for event in assistant.stream(question, period=period):
            if isinstance(event, Delta) and event.text:
                click.echo(event.text, nl=False)
                sys.stdout.flush()
                streamed = True
            elif isinstance(event, Answer):
                answer = event
        if streamed:
            click.echo("")
        if answer is not None:  # nothing streamed (not found, or the fallback's answer): the answer is printed whole
            click.echo(answer_text(answer, body=not streamed))
        return
    if question is not None:
        answer = assistant.ask(question, period=period)
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else answer_text(answer))
        return
    for line in sys.stdin:
        try:
            _check_words(line)
            answer = assistant.ask(line, period=period)
        except InputError as exc:
            click.echo(
                json.dumps({"question": line.strip(), "error": str(exc)}, ensure_ascii=False)
                if as_json
                else f"error: {exc}"
            )
            continue
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else one_line(answer))
        sys.stdout.flush()


@main.command("eval")
@click.option("--corpus", required=True, type=click.Path(dir_okay=False), help='JSON Lines {"id","title","text"}.')
@click.option("--questions", required=True, type=click.Path(dir_okay=False), help="JSON Lines, one question each.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--cache", type=click.Path(file_okay=False), help="Keep the embedding cache here to reuse across runs.")
@click.option("--retriever", type=click.Choice(["hybrid", "dense", "keyword"]), default="hybrid", show_default=True)
@click.option("--k", type=int, help=f"Passages given to the answerer [env KBQA_K; default {Settings.k}].")
@click.option(
    "--leave-out",
    type=float,
    default=0.0,
    show_default=True,
    help="Leave this fraction of the corpus out of the index (chosen by id hash): its questions become unanswerable.",
)
@click.option("--details", type=click.Path(dir_okay=False), help="Write one JSON line per question to this file.")
@click.option(
    "--store-url",
    help="Build the temporary store in a new database on this PostgreSQL server (postgresql://…; dropped after) "
    "instead of a temporary folder.",
)
@click.option("--embedder", help="Embedder name [env KBQA_EMBEDDER; default e5-small-q4].")
@handle_errors
def eval_cmd(
    corpus: str,
    questions: str,
    as_json: bool,
    cache: str | None,
    retriever: str,
    k: int | None,
    leave_out: float,
    details: str | None,
    store_url: str | None,
    embedder: str | None,
) -> None:
    """Index CORPUS into a temporary store, ask every question, report Hit@1/5, MRR@10, cited answers, answer_ok,
    answer length, found_ok (and abstain_ok with --leave-out), latency."""
    from kbqa.qa.eval import run_eval

    settings = load_settings({"embedder": embedder, "k": k})
    from kbqa.errors import InputError
    from kbqa.index.store.api import is_server

    if store_url is not None and not is_server(store_url):
        raise InputError(f"--store-url must be a postgresql:// URL, not {_shown(store_url)!r}")
    report = run_eval(corpus, questions, settings, cache, retriever, leave_out, details, store_url)
    click.echo(json.dumps(report.to_json()) if as_json else report.table())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", type=int, default=7860, show_default=True, help="Port to serve on.")
@click.option("--auth", envvar="KBQA_AUTH", help="user:pass required to open the page [env KBQA_AUTH].")
@click.option("--share", is_flag=True, help="Also open a public gradio.live link.")
@click.option("--docs", type=click.Path(file_okay=False), help="Folder for uploaded documents [default: kbqa-docs/].")
@llm_options
@store_options
@handle_errors
def chat(
    host: str,
    port: int,
    auth: str | None,
    share: bool,
    docs: str | None,
    llm: str | None,
    llm_base_url: str | None,
    store: str | None,
    embedder: str | None,
) -> None:
    """Open the chat in the browser (http://HOST:PORT)."""
    from kbqa.ui.app import serve

    settings = load_settings({"store": store, "embedder": embedder, "llm": llm, "llm_base_url": llm_base_url})
    try:
        assistant = _open_assistant(settings)
    except IndexMissingError:  # no index and no seeds/: open the page anyway, to upload documents into
        assistant = None
    serve(assistant, host=host, port=port, auth=auth, share=share, docs=docs, settings=settings)


if __name__ == "__main__":
    main()
