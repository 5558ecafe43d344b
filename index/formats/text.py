"""Bytes to clean text: encoding by evidence, control characters out, over-long lines split."""

from __future__ import annotations

import re

from kbqa.errors import InputError
from kbqa.index.formats.limits import DEFAULT_LIMITS
from kbqa.index.formats.sniff import utf16_without_bom

# C0 and C1 controls except \t and \n (\r and \f become newlines first), and DEL
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# bytes that cp1258 (Vietnamese) and cp1252 (Western) decode differently
_CP1258_ONLY = frozenset(b"\xc3\xcc\xd0\xd2\xd5\xdd\xde\xe3\xec\xf0\xf2\xf5\xfd\xfe")
_VI_COMBINING = re.compile(r"[A-Za-zÀ-ỹ][\u0300\u0301\u0303\u0309\u0323]")
_VI_LETTERS = re.compile(r"[ăâêôơưđĂÂÊÔƠƯĐ]")
# encodings of other scripts, where charset-normalizer's guess is trusted; for any Latin-script guess (cp1250,
# cp775, mac_*, …) the Western/Vietnamese choice below decides, by evidence
_OTHER_SCRIPTS = (
    "cp1251",
    "koi8",
    "cp1253",
    "cp1255",
    "cp1256",
    "iso8859_5",
    "iso8859_6",
    "iso8859_7",
    "iso8859_8",
    "cp866",
    "mac_cyrillic",
    "mac_greek",
    "big5",
    "gb",
    "hz",
    "shift_jis",
    "cp932",
    "cp936",
    "cp949",
    "cp950",
    "euc",
    "iso2022",
    "johab",
    "tis_620",
    "cp874",
    "utf_16",
    "utf_32",
)


def strip_controls(text: str) -> str:
    """Unify newlines (\\r\\n, \\r, form feed → \\n) and drop NUL and the other control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return _CONTROLS.sub("", text)


def _single_byte(data: bytes) -> str:
    """Vietnamese cp1258 when the bytes only it decodes form Vietnamese letters; else cp1252; else Latin-1."""
    if any(b in _CP1258_ONLY for b in data):
        vi = data.decode("cp1258", errors="replace")
        evidence = len(_VI_COMBINING.findall(vi)) + len(_VI_LETTERS.findall(vi))
        odd = sum(1 for b in data if b in _CP1258_ONLY)
        if evidence and evidence * 2 >= odd:
            return vi
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode(data: bytes, name: str) -> str:
    """UTF-16 by BOM, or by its NUL pattern without one; UTF-8 (BOM or not); other scripts as charset-normalizer
    finds; Latin by evidence."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name}: not valid UTF-16 text") from None
    order = utf16_without_bom(data)  # before UTF-8: ASCII in UTF-16 is valid UTF-8 (with a NUL after each letter)
    if order is not None:
        try:
            return data.decode(order)
        except UnicodeDecodeError:
            raise InputError(f"{name}: not valid UTF-16 text") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:262144]).best()  # a sample: detection time stays bounded
    if best is not None and len(data) >= 64 and best.encoding.lower().startswith(_OTHER_SCRIPTS):
        try:
            return data.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    return _single_byte(data)


def _cut(line: str, limit: int) -> int:
    """Where to cut a line longer than `limit`: after a sentence end, else at a space, else at the limit."""
    window = line[:limit]
    for pattern in (". ", "! ", "? ", "… ", "; ", ", ", " "):
        pos = window.rfind(pattern)
        if pos > limit // 2:
            return pos + len(pattern)
    return limit


def split_long_lines(text: str, limit: int = DEFAULT_LIMITS.max_line_chars) -> str:
    """Every line at most `limit` characters (the max_line_chars setting): longer ones are split."""
    if all(len(line) <= limit for line in text.split("\n")):
        return text
    out: list[str] = []
    for line in text.split("\n"):
        while len(line) > limit:
            cut = _cut(line, limit)
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        out.append(line)
    return "\n".join(out)


def tidy(text: str, max_line_chars: int = DEFAULT_LIMITS.max_line_chars) -> str:
    """Controls out, long lines split: what every format's text goes through."""
    return split_long_lines(strip_controls(text), max_line_chars)


def cap_title(title: str, limit: int = DEFAULT_LIMITS.max_title_chars) -> str:
    """A title cut to `limit` characters (the max_title_chars setting), at a word boundary when near."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    head = title[: limit - 1]
    cut = head.rfind(" ")
    return (head[:cut] if cut > limit // 2 else head).rstrip(" ,;:-–") + "…"
