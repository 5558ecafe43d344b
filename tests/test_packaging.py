"""The install: one `kbqa` namespace (no top-level index, qa or ui), and imports that flow one way."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what each stage may import of kbqa (seeds/ → index/ → qa/ → ui/; kbqa/ holds config and errors for all, and the
# CLI, which calls every stage); the CLI is imported by none
ALLOWED = {
    "index": {"kbqa.config", "kbqa.errors", "kbqa.text", "kbqa.index"},
    "qa": {"kbqa.config", "kbqa.errors", "kbqa.text", "kbqa.index", "kbqa.qa"},
    "ui": {"kbqa.config", "kbqa.errors", "kbqa.logs", "kbqa.text", "kbqa.index", "kbqa.qa", "kbqa.ui"},
}


def test_the_wheel_installs_one_kbqa_namespace(tmp_path):
    src = tmp_path / "src"  # a copy: setuptools writes build/ and *.egg-info next to the sources it builds
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("kbqa", "index", "qa", "ui"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("kbqa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"kbqa"}
    for module in (
        "kbqa/cli.py",
        "kbqa/config.py",
        "kbqa/errors.py",
        "kbqa/index/build.py",
        "kbqa/qa/chain.py",
        "kbqa/ui/app.py",
        "kbqa/ui/chat.css",  # the page's styles and script: package data, read when the page is built
        "kbqa/ui/chat.js",
        "kbqa/index/store/api.py",
        "kbqa/index/store/postgres/store.py",
        "kbqa/index/formats/html.py",
        "kbqa/qa/llm/verify.py",
        "kbqa/qa/answer/extractive.py",
    ):
        assert module in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "kbqa = kbqa.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def _kbqa_imports(path: Path) -> set[str]:
    """The kbqa modules `path` imports (anywhere in it, lazily too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found |= {n for n in names if n == "kbqa" or n.startswith("kbqa.")}
    return found


def test_imports_flow_one_way_and_nothing_imports_the_cli():
    for stage, allowed in ALLOWED.items():
        for path in (ROOT / stage).rglob("*.py"):
            for name in _kbqa_imports(path):
                assert any(name == a or name.startswith(a + ".") for a in allowed), f"{path}: imports {name}"
    for path in [*ROOT.glob("kbqa/*.py")]:
        if path.name not in ("cli.py", "__main__.py"):
            assert not {n for n in _kbqa_imports(path) if not n.startswith(("kbqa.errors", "kbqa.config"))}, path
    for stage in ("index", "qa", "ui"):
        assert all("kbqa.cli" not in _kbqa_imports(p) for p in (ROOT / stage).rglob("*.py"))


def test_no_top_level_index_qa_or_ui_module_is_importable_outside_the_repository(tmp_path):
    code = (
        "import importlib.util as u, kbqa.index.build, kbqa.qa.chain, kbqa.ui.render;"
        "print([n for n in ('index', 'qa', 'ui') if u.find_spec(n) is not None])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# the store's public face: its interface (api) and the migration between stores; the engines (embedded,
# postgres/) and their parts are imported by index/store/ alone
STORE_FACE = {"kbqa.index.store.api", "kbqa.index.store.migrate"}


def _store_imports(path: Path) -> set[str]:
    """The kbqa.index.store modules `path` imports (`from kbqa.index.store import x` counts as the module x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = (
                [f"{node.module}.{a.name}" for a in node.names] if node.module == "kbqa.index.store" else [node.module]
            )
        found |= {n for n in names if n == "kbqa.index.store" or n.startswith("kbqa.index.store.")}
    return found


def test_only_the_store_imports_its_engines():
    store = ROOT / "index" / "store"
    paths = [p for p in (ROOT / "index").rglob("*.py") if store not in p.parents]
    paths += [p for stage in ("qa", "ui", "kbqa") for p in (ROOT / stage).rglob("*.py")]
    for path in paths:
        for name in _store_imports(path):
            assert name in STORE_FACE, f"{path}: imports {name} (use kbqa.index.store.api)"
