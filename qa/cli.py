"""The `kbqa` command line: index, ask (one question, or one per stdin line). Output formatting only."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from index.config import Settings, load_settings
from index.errors import IndexMissingError, KbqaError

SEEDS = "seeds"


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

    return wrapper


def store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--store and --embedder, shared by every command that opens the index."""
    func = click.option("--embedder", help="Embedder name [env KBQA_EMBEDDER; default e5-small-q4].")(func)
    return click.option(
        "--store", type=click.Path(file_okay=False), help="Index folder [env KBQA_STORE; default .kbqa]."
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """kbqa: ask questions about a folder of articles; every answer cites its passages."""


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--rebuild", is_flag=True, help="Start from an empty index instead of updating the current one.")
@store_options
@handle_errors
def index_cmd(paths: tuple[str, ...], rebuild: bool, store: str | None, embedder: str | None) -> None:
    """Index the .txt/.md files in PATHS (default: seeds/). Unchanged documents are not embedded again."""
    from index.build import build_index

    settings = load_settings({"store": store, "embedder": embedder})
    report = build_index(paths or [SEEDS], settings, rebuild=rebuild)
    click.echo(f"kbqa: {report.summary()}", err=True)


def _open_assistant(settings: Settings) -> Any:
    from qa.chain import Assistant

    try:
        return Assistant(settings)
    except IndexMissingError:
        if not Path(SEEDS).is_dir():
            raise
        from index.build import build_index

        click.echo(f"kbqa: no index at {settings.store} yet: building one from {SEEDS}/ first", err=True)
        report = build_index([SEEDS], settings, show_progress=True)
        click.echo(f"kbqa: {report.summary()}", err=True)
        return Assistant(settings)


def _one_line(answer: Any) -> str:
    sources = " ".join(f"[{c.n}] {c.passage.source}:{c.passage.start}-{c.passage.end}" for c in answer.citations)
    return f"{answer.answer}  | {sources}" if sources else answer.answer


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (JSON Lines in batch mode).")
@click.option("--k", type=int, help="How many passages to retrieve [env KBQA_K; default 5].")
@store_options
@handle_errors
def ask(question: str | None, as_json: bool, k: int | None, store: str | None, embedder: str | None) -> None:
    """Answer QUESTION with citations. Without QUESTION, answer each line of stdin (model loaded once)."""
    from index.errors import InputError
    from qa.render import answer_text

    settings = load_settings({"store": store, "embedder": embedder, "k": k})
    if question is not None and not question.strip():
        raise InputError("the question is empty")
    assistant = _open_assistant(settings)
    if question is not None:
        answer = assistant.ask(question)
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else answer_text(answer))
        return
    for line in sys.stdin:
        try:
            answer = assistant.ask(line)
        except InputError as exc:
            click.echo(
                json.dumps({"question": line.strip(), "error": str(exc)}, ensure_ascii=False)
                if as_json
                else f"error: {exc}"
            )
            continue
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else _one_line(answer))
        sys.stdout.flush()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", type=int, default=7860, show_default=True, help="Port to serve on.")
@click.option("--auth", envvar="KBQA_AUTH", help="user:pass required to open the page [env KBQA_AUTH].")
@click.option("--share", is_flag=True, help="Also open a public gradio.live link.")
@click.option("--docs", type=click.Path(file_okay=False), help="Folder for uploaded documents [default: kbqa-docs/].")
@store_options
@handle_errors
def chat(
    host: str, port: int, auth: str | None, share: bool, docs: str | None, store: str | None, embedder: str | None
) -> None:
    """Open the chat in the browser (http://HOST:PORT)."""
    from ui.app import serve

    settings = load_settings({"store": store, "embedder": embedder})
    serve(_open_assistant(settings), host=host, port=port, auth=auth, share=share, docs=docs)


if __name__ == "__main__":
    main()
