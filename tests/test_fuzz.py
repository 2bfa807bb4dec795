"""Fuzzing: schemathesis generates requests from the served OpenAPI document and sends them to a real server.

Every operation (the websocket's handshake aside: it is exercised in test_ws_schemas.py)
gets valid and invalid inputs; no answer may be a 5xx, and every answer must match
what the document declares (status, content type, body schema). Half of the cases
use the ids of a real document, section and chat, so the fuzzer also reaches past
the 404s. Bounded: a few examples per operation, no shrinking of long runs.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from vice_ai import create_app, shutdown
from vice_ai.serving import make_json_server

EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real server (local mode, offline assistant) on a fresh folder, with a document, a section and a chat."""
    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("fuzz-data")), "AUTH": "local",
                      "MAX_CONTENT_LENGTH": 256 * 1024})
    client = app.test_client()
    headers = {"X-VICE-CSRF": "1"}
    doc = client.post("/api/documents", json={"title": "Fuzzed", "sections": [{"title": "Intro", "content": "Hi."}]},
                      headers=headers).get_json()
    section_id = doc["sections"][0]["id"]
    session = client.post(f"/api/documents/{doc['id']}/sections/{section_id}/sessions", json={},
                          headers=headers).get_json()
    server = make_json_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}",
           "ids": {"doc_id": doc["id"], "section_id": section_id, "session_id": session["id"]}}
    server.shutdown()
    shutdown(app)


# A body over the server's size limit is refused with 413 before it is read, whatever it holds.
CONFIG = {"checks": {"negative_data_rejection": {
    "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "429"]}}}


@pytest.fixture(scope="module")
def api_schema(fuzz_target: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_target['base']}/api/openapi.json",
                                         config=schemathesis.config.SchemathesisConfig.from_dict(CONFIG))


# The websocket's handshake is not an HTTP exchange a fuzzer can judge: tests/test_ws_schemas.py drives it.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex=r"^/ws/")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_server_fail(case: Any, fuzz_target: dict[str, Any]) -> None:
    if case.path_parameters and hash(repr(case.body) + repr(case.query)) % 2 == 0:
        for name, value in fuzz_target["ids"].items():
            if name in case.path_parameters:
                case.path_parameters[name] = value
    # Not positive_data_acceptance: some schema-valid requests are refused for the state they meet
    # (a position past the end of the document, an integer written 1.0): a 400 there is right.
    # Not negative_data_rejection for multipart bodies: every form field is text there, so a "boolean"
    # title arrives as the string "false", a valid title (the files' own checks are tested apart).
    excluded = [positive_data_acceptance]
    if case.media_type == "multipart/form-data":
        excluded.append(negative_data_rejection)
    case.call_and_validate(base_url=fuzz_target["base"], headers={"X-VICE-CSRF": "1"}, timeout=30,
                           excluded_checks=excluded)
