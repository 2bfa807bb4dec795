"""The layout stays as docs/architecture.md draws it: layers import downwards only, modules stay readable."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vice_ai"
MAX_LINES = 420  # "about 400"

# Top to bottom; a module may import its own layer, any layer below, and the base modules.
LAYERS: list[tuple[str, ...]] = [
    ("vice_ai", "vice_ai.serving"),
    ("vice_ai.api",),
    ("vice_ai.domain.documents", "vice_ai.domain.chats", "vice_ai.domain.deletion", "vice_ai.domain.resources",
     "vice_ai.domain.sharing", "vice_ai.domain.export", "vice_ai.domain.presets", "vice_ai.domain.branches",
     "vice_ai.domain.attachments", "vice_ai.domain.provenance", "vice_ai.domain.reading", "vice_ai.domain.review",
     "vice_ai.domain.docx_export", "vice_ai.domain.docx_import", "vice_ai.domain.importing", "vice_ai.domain.outline",
     "vice_ai.domain.bundle", "vice_ai.domain.bundle_format", "vice_ai.domain.session_page",
     "vice_ai.domain.document_list"),
    ("vice_ai.chat", "vice_ai.streams", "vice_ai.files"),
    ("vice_ai.tools", "vice_ai.live", "vice_ai.llm", "vice_ai.housekeeping", "vice_ai.accounts", "vice_ai.security",
     "vice_ai.search", "vice_ai.coordination"),
    ("vice_ai.domain.models", "vice_ai.domain.state", "vice_ai.domain.records", "vice_ai.domain.variables",
     "vice_ai.domain.preset_store", "vice_ai.domain.builtin_presets", "vice_ai.domain.tree",
     "vice_ai.domain.blame", "vice_ai.domain.diffing", "vice_ai.domain.passages"),
    ("vice_ai.storage",),
]
BASE = ("vice_ai.errors", "vice_ai.config", "vice_ai.services", "vice_ai.domain")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    """The layer of a module: the longest prefix listed wins."""
    best, rank = -1, None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    return rank


def _runtime_imports(path: Path, module: str) -> list[str]:
    """Modules imported when the file runs (imports under `if TYPE_CHECKING:` are for types only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            found.extend(name if _is_module(name) else target for name in names)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name == "vice_ai" or name.startswith("vice_ai.")]


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_go_downwards(path: Path) -> None:
    module = _module_name(path)
    if module in BASE:
        return
    mine = _layer(module)
    assert mine is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    upward = [name for name in _runtime_imports(path, module)
              if name not in BASE and (_layer(name) if _layer(name) is not None else mine) < mine]
    assert upward == [], f"{module} (layer {mine}) imports a layer above it: {upward}"


def test_every_module_is_readable_in_one_sitting() -> None:
    sources = [*SOURCES, *PACKAGE.joinpath("static").rglob("*.js"), *PACKAGE.joinpath("static").rglob("*.css")]
    too_long = {str(p.relative_to(PACKAGE.parent)): n for p in sources
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert too_long == {}


def test_the_architecture_doc_names_every_package() -> None:
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    missing = [name for name in packages if f"`{name}/`" not in doc]
    assert missing == [], f"docs/architecture.md does not describe: {missing}"


def test_no_test_module_imports_another() -> None:
    """Shared test helpers and fixtures live in helper modules (conftest, helpers, processes...): a test module
    imported by another is collected twice over and breaks when its tests move."""
    tests = PACKAGE.parent / "tests"
    found = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(tests)}: {name}" for name in names
                      if name.rsplit(".", 1)[-1].startswith("test_")]
    assert found == []
