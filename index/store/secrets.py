"""Passwords out of messages: a server URL shown without its password, and any text scrubbed of every credential."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

HIDDEN = "***"
_USERINFO = re.compile(r"(://[^:/@\s]*):[^@/\s]*@")  # postgresql://user:secret@host → postgresql://user@host
_URL_PARAM = re.compile(r"([?&])password=[^&#\s]*&?", re.IGNORECASE)  # ...?password=secret&sslmode=x
_KEYWORD = re.compile(r"\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&'\"]+)", re.IGNORECASE)  # password=secret


def display(location: str | Path) -> str:
    """`location` as messages show it: a server's URL without its password (userinfo or `password=` parameter),
    a folder as given."""
    shown = _USERINFO.sub(r"\1@", str(location))
    shown = _URL_PARAM.sub(r"\1", shown)
    return shown.rstrip("?&").replace("?&", "?")


def secrets_of(location: str | Path | None) -> list[str]:
    """The passwords `location` (a server URL) carries, as written and decoded, and PGPASSWORD's."""
    found = [os.environ.get("PGPASSWORD", "")]
    text = str(location or "")
    if "://" in text:
        try:
            parts = urlsplit(text)
            found += [parts.password or "", unquote(parts.password or "")]
            found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() == "password"]
        except ValueError:  # a URL too malformed to parse: the patterns still apply
            pass
        found += [m.group(1) for m in re.finditer(r"[?&]password=([^&#\s]*)", text, re.IGNORECASE)]
        found += [m.group(1) for m in re.finditer(r"://[^:/@\s]*:([^@/\s]*)@", text)]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def scrub(text: str, location: str | Path | None = None) -> str:
    """`text` (an error message, perhaps echoing a DSN) without any password: URLs' userinfo passwords and
    `password=` values hidden, and the passwords of `location` and PGPASSWORD removed wherever they appear."""
    text = _USERINFO.sub(r"\1@", str(text))
    text = _KEYWORD.sub(rf"\1{HIDDEN}", text)
    for secret in secrets_of(location):
        text = text.replace(secret, HIDDEN)
    return text


def one_line(exc: BaseException, location: str | Path | None = None, last: bool = False) -> str:
    """An exception's text as one scrubbed line (its first line, or its `last`), or its type's name when empty."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return scrub((lines[-1] if last else lines[0]).strip(), location)
