"""Each store file (and the embedding cache) truncated, emptied and overwritten with garbage: `ask`, `list`, `index`
and `add` give one line (no traceback), `kbqa check` names the file, `kbqa index --rebuild` repairs it."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import kbqa.index.store.ann
from kbqa.cli import main

DOCS = {
    "otter.txt": "Otters of the Mekong\n\nRangers counted twenty-seven giant river otters near Kratie in March.\n",
    "bakery.txt": "A bakery in Hoi An\n\nThe bakery on Tran Phu street sells banh mi from five in the morning.\n",
    "ferry.txt": "The Can Tho ferry\n\nThe old ferry across the Hau river stopped running when the bridge opened.\n",
}
NEW = "Rice harvest in An Giang\n\nFarmers in An Giang brought in the winter-spring rice harvest early this year.\n"
QUESTION = "How many otters did rangers count near Kratie?"
ANN_LIMIT = 2  # every store here has an HNSW file


def _store_file(pattern: str) -> Callable[[Path], Path]:
    return lambda case: next((case / "store").glob(pattern))


FILES: dict[str, Callable[[Path], Path]] = {
    "CURRENT": _store_file("CURRENT"),
    "meta.sqlite": _store_file("data-*/meta.sqlite"),
    "vectors.f32": _store_file("data-*/vectors.f32"),
    "ann": _store_file("data-*/ann-*.faiss"),
    "keyword-manifest": _store_file("data-*/keyword-*.json"),
    "keyword-segment": _store_file("data-*/kw-*/terms.npy"),
    "embeddings.sqlite": lambda case: case / "cache" / "embeddings.sqlite",
}


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def garbage(path: Path) -> None:
    path.write_bytes(random.Random(path.name).randbytes(1000))


def scribbled(path: Path) -> None:
    """Overwritten in place past the first page (SQLite) or entirely (vectors): the header and the size look right."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") if path.suffix == ".sqlite" else 0
    data[page:] = random.Random(path.name).randbytes(len(data) - page)
    path.write_bytes(bytes(data))


DAMAGES = {"truncated": truncate, "emptied": empty, "garbage": garbage}
SCRIBBLED = ("meta.sqlite", "vectors.f32", "embeddings.sqlite")


def run(case: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--store", str(case / "store")], env={"KBQA_CACHE": str(case / "cache")})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def small_ann(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kbqa.index.store.ann, "EXACT_LIMIT", ANN_LIMIT)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sound store of three documents with an HNSW file, its embedding cache and its documents."""
    root = tmp_path_factory.mktemp("pristine")
    (root / "docs").mkdir()
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kbqa.index.store.ann, "EXACT_LIMIT", ANN_LIMIT)
        code, _, err = run(root, "index", str(root / "docs"))
    assert code == 0, err
    assert all(FILES[name](root).is_file() for name in FILES)
    return root


@pytest.fixture
def case(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine, tmp_path / "case")
    return tmp_path / "case"


def test_pristine_store_is_sound(case: Path):
    code, _, err = run(case, "check")
    assert code == 0 and "is sound" in err and err.count("\n") == 1
    code, out, _ = run(case, "ask", QUESTION)
    assert code == 0 and "otter" in out.lower()


def one_line_error(code: int, err: str, name: str) -> None:
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("kbqa: error:"), err
    assert "--rebuild" in err and name.split("-")[0].split(".")[0].lower() in err.lower(), err


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("name", FILES)
def test_damage_is_named_and_rebuild_repairs(case: Path, name: str, damage: str):
    path = FILES[name](case)
    DAMAGES[damage](path)
    docs = str(case / "docs")
    (case / "new.txt").write_text(NEW, encoding="utf-8")
    code, _, err = run(case, "check")
    if name == "embeddings.sqlite":
        # the cache is only a shortcut: commands work, and the next build sets a damaged one aside
        if damage != "emptied":  # SQLite takes an empty file for a new database: nothing is damaged
            assert code == 1 and path.name in err and "sets it aside" in err, err
        for args in (("ask", QUESTION), ("list",)):
            code, _, err = run(case, *args)
            assert code == 0, err
        code, _, err = run(case, "add", str(case / "new.txt"))
        assert code == 0, err
        assert (damage == "emptied") == ("set aside" not in err), err
    else:
        assert code == 1 and err.count("\n") >= 1, err
        assert path.name in err and "kbqa index --rebuild" in err, err
        for args in (("ask", QUESTION), ("list",), ("add", str(case / "new.txt")), ("remove", "otter")):
            one_line_error(*run(case, *args)[::2], name)
        code, _, err = run(case, "index", docs)  # a plain index does not pass over the damage
        one_line_error(code, err, name)
    code, _, err = run(case, "index", "--rebuild", docs)
    assert code == 0 and "the index now holds 3 document(s)" in err, err
    code, _, err = run(case, "check")
    assert code == 0 and "is sound" in err, err
    code, out, err = run(case, "ask", QUESTION)
    assert code == 0 and "otter" in out.lower(), err


@pytest.mark.parametrize("name", SCRIBBLED)
def test_overwritten_in_place_is_named_and_rebuild_repairs(case: Path, name: str):
    path = FILES[name](case)
    scribbled(path)
    code, _, err = run(case, "check")
    assert code == 1 and path.name in err, err
    if name != "embeddings.sqlite":
        # `list` reads no vectors, and `ask` searches the HNSW file's own copy: both still work with a store whose
        # vectors file is overwritten in place (at its size), but writers check it, and `check` names it
        readers = (("ask", QUESTION), ("list",)) if name == "meta.sqlite" else ()
        for args in (*readers, ("add", str(case / "docs")), ("index", str(case / "docs"))):
            one_line_error(*run(case, *args)[::2], name)
    else:
        code, _, err = run(case, "add", str(case / "docs"))
        assert code == 0 and "set aside" in err, err
    code, _, err = run(case, "index", "--rebuild", str(case / "docs"))
    assert code == 0 and "the index now holds 3 document(s)" in err, err
    code, _, err = run(case, "check")
    assert code == 0 and "is sound" in err, err
    assert "otter" in run(case, "ask", QUESTION)[1].lower()


def test_missing_data_folder(case: Path):
    shutil.rmtree(next((case / "store").glob("data-*")))
    code, _, err = run(case, "check")
    assert code == 1 and "data folder" in err
    one_line_error(*run(case, "list")[::2], "data")
    code, _, err = run(case, "index", "--rebuild", str(case / "docs"))
    assert code == 0, err
    assert run(case, "check")[0] == 0


def test_exact_search_store_with_overwritten_vectors(case: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kbqa.index.store.ann, "EXACT_LIMIT", 20_000)  # no HNSW file: `ask` reads the vectors file
    assert run(case, "index", "--rebuild", str(case / "docs"))[0] == 0
    assert not list((case / "store").glob("data-*/ann-*"))
    scribbled(FILES["vectors.f32"](case))
    one_line_error(*run(case, "ask", QUESTION)[::2], "vectors")
    assert run(case, "index", "--rebuild", str(case / "docs"))[0] == 0
    assert run(case, "check")[0] == 0


def test_keyword_index_that_misses_a_live_chunk_is_named(case: Path):
    path = FILES["keyword-manifest"](case)
    spec = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**spec, "removed": [0]}), encoding="utf-8")  # chunk 0 is live
    code, _, err = run(case, "check")
    assert code == 1 and path.name in err and "live ones" in err, err
    assert run(case, "index", "--rebuild", str(case / "docs"))[0] == 0
    assert run(case, "check")[0] == 0
