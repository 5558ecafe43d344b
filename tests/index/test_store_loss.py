"""A store whose CURRENT is lost but whose data folders hold an index is damaged, never "no index": `check` says
so, and `add`/`index` refuse it instead of starting a new index that deletes the data folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kbqa.cli import main

DOCS = {
    "otter.txt": "Otters of the Mekong\n\nRangers counted twenty-seven giant river otters near Kratie in March.\n",
    "bakery.txt": "A bakery in Hoi An\n\nThe bakery on Tran Phu street sells banh mi from five in the morning.\n",
}
NEW = "Rice harvest in An Giang\n\nFarmers in An Giang brought in the winter-spring rice harvest early this year.\n"


def run(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--store", str(root / "store")], env={"KBQA_CACHE": str(root / "cache")})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def lost(tmp_path: Path) -> Path:
    """A store of two documents whose CURRENT was deleted."""
    (tmp_path / "docs").mkdir()
    for name, text in DOCS.items():
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    (tmp_path / "new.txt").write_text(NEW, encoding="utf-8")
    code, _, err = run(tmp_path, "index", str(tmp_path / "docs"))
    assert code == 0, err
    (tmp_path / "store" / "CURRENT").unlink()
    return tmp_path


def data_files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in (root / "store").glob("data-*/**/*") if p.is_file()}


def test_check_calls_a_lost_current_damage(lost: Path):
    before = data_files(lost)
    code, _, err = run(lost, "check")
    assert code == 1, err
    assert err.count("\n") == 1 and "CURRENT" in err and "is missing" in err and "--rebuild" in err, err
    assert "no index" not in err
    assert data_files(lost) == before


@pytest.mark.parametrize("command", ["add", "index"])
def test_writers_refuse_it_and_keep_the_data_folders(lost: Path, command: str):
    before = data_files(lost)
    assert any(name.endswith("meta.sqlite") for name in before)
    code, _, err = run(lost, command, str(lost / "new.txt"))
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("kbqa: error:") and "CURRENT" in err, err
    assert data_files(lost) == before
    assert not (lost / "store" / "CURRENT").exists()


def test_ask_names_the_damage_and_rebuild_starts_over(lost: Path):
    code, _, err = run(lost, "ask", "How many otters did rangers count?")
    assert code == 1 and "CURRENT" in err and err.count("\n") == 1, err
    code, _, err = run(lost, "index", "--rebuild", str(lost / "docs"))
    assert code == 0, err
    code, _, err = run(lost, "check")
    assert code == 0 and "is sound" in err and "2 document" in err, err


def test_a_first_build_killed_before_its_commit_is_no_index(tmp_path: Path):
    """A data folder with no committed records (a first build killed mid-way) is still "no index"."""
    from kbqa.index.store.records import Records

    folder = tmp_path / "store" / "data-000001"
    folder.mkdir(parents=True)
    Records.create(folder).close()
    code, _, err = run(tmp_path, "check")
    assert code == 0 and "no index" in err, err
