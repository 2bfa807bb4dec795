"""Docs stay honest: every API route and environment variable is in the README, and nothing there is stale."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from vice_ai import config

README = Path(__file__).resolve().parent.parent / "README.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SAMPLE_ID = "2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11"


@pytest.fixture(scope="module")
def readme() -> str:
    assert README.exists(), "README.md is missing: it must document the HTTP API and the configuration"
    return README.read_text(encoding="utf-8")


def _api_routes(app) -> list[tuple[str, str]]:
    """(method, path) for every rule under /api, converters written as plain <name>."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", rule.rule)
        routes.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return routes


def _pattern(method: str, path: str) -> re.Pattern[str]:
    """The route as the README may write it: <id>, {id} or :id for a parameter; not a prefix of a longer path."""
    parts = re.split(r"<([^<>]+)>", path)
    regex = ""
    for i, part in enumerate(parts):
        regex += re.escape(part) if i % 2 == 0 else rf"(?:<{part}>|\{{{part}\}}|:{part})"
    return re.compile(rf"\b{method}\s+`?{regex}(?![\w/<{{:-])")


def test_every_api_route_is_in_the_readme(app, readme):
    missing = [f"{m} {p}" for m, p in _api_routes(app) if not _pattern(m, p).search(readme)]
    assert missing == [], f"README.md does not document: {missing}"


def test_every_route_in_the_readme_exists(app, readme):
    adapter = app.url_map.bind("localhost")
    stale = []
    for method, path in re.findall(rf"\b({'|'.join(METHODS)})\s+`?(/api/[^\s`|)]*)", readme):
        concrete = re.sub(r"<version>|\{version\}|:version\b", "1", path)
        concrete = re.sub(r"<[^<>]+>|\{[^{}]+\}|:\w+", SAMPLE_ID, concrete)
        try:
            adapter.match(concrete, method=method)
        except (NotFound, MethodNotAllowed):
            stale.append(f"{method} {path}")
    assert stale == [], f"README.md documents routes the app does not have: {stale}"


def test_every_environment_variable_is_in_the_readme(readme):
    missing = [name for name in config.ENVIRONMENT if name not in readme]
    assert missing == [], f"README.md does not document: {missing}"


def _readme_api_table(readme: str) -> set[tuple[str, str]]:
    """(method, path) of every row of the README's HTTP API table, parameters written as {name}."""
    rows = re.findall(rf"^\|\s*`({'|'.join(METHODS)})\s+(/api/[^`]*)`", readme, flags=re.MULTILINE)
    return {(method, re.sub(r"<([^<>]+)>", r"{\1}", path)) for method, path in rows}


def _openapi_operations(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method.upper() in METHODS}


def test_openapi_describes_every_route_and_only_those(app):
    from vice_ai.api.openapi import build_openapi

    document = build_openapi(app, strict=True)  # strict: a route without a declaration fails here
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes.update((method, path) for method in rule.methods - {"HEAD", "OPTIONS"})
    assert _openapi_operations(document) == routes


def test_readme_api_table_matches_the_openapi_document(app, readme):
    from vice_ai.api.openapi import build_openapi

    api = {(m, p) for m, p in _openapi_operations(build_openapi(app)) if p.startswith("/api/")}
    table = _readme_api_table(readme)
    assert sorted(api - table) == [], "in the OpenAPI document but not in the README's API table"
    assert sorted(table - api) == [], "in the README's API table but not in the OpenAPI document"
