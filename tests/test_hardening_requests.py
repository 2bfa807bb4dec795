"""How requests may arrive: only allowed `Host` names (DNS rebinding), and `Origin`/`Sec-Fetch-Site`
compared the way the standards define them."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from auth_helpers import cookie_header, handshake, password_app, signup
from conftest import make_document, make_session

PROJECT = Path(__file__).resolve().parent.parent
ATTACKER = "attacker.example:5090"


def bad_host(resp) -> bool:
    return resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_host"


def raw_request(port: int, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """A request with exactly these headers (http.client sends our Host instead of its own)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# -- finding 4: the Host must be one this server answers to ---------------------------------

def test_local_mode_refuses_a_rebound_host(client):
    """The report: with Host attacker.example:5090 and a matching Origin, local mode listed and created documents."""
    hostile = {"Host": ATTACKER, "Origin": f"http://{ATTACKER}"}
    assert bad_host(client.get("/api/documents", headers=hostile))
    assert bad_host(client.post("/api/documents", json={"title": "Planted"}, headers=hostile))
    assert bad_host(client.get("/", headers=hostile))  # pages too, in the JSON shape
    assert bad_host(client.get("/api/health", headers=hostile))  # and what needs no account
    assert client.get("/api/documents").get_json()["documents"] == []


def test_a_rebound_websocket_handshake_is_refused(make_app, start_server):
    app = make_app()
    server = start_server(app)
    session = make_session(app.test_client(), make_document(app.test_client()))
    headers = {"Host": ATTACKER, "Origin": f"http://{ATTACKER}", "Connection": "Upgrade", "Upgrade": "websocket",
               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "MDEyMzQ1Njc4OWFiY2RlZg=="}
    status, body = raw_request(server.port, "GET", f"/ws/sessions/{session['id']}", headers)
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_host"
    assert handshake(server.port, f"/ws/sessions/{session['id']}", server.url)[0] == 101


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "LOCALHOST:5000", "127.0.0.1", "127.0.0.1:8080",
                                  "[::1]", "[::1]:5000", "localhost.:5000"])
def test_this_machines_names_are_allowed_by_default(client, host):
    assert client.get("/api/documents", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", [ATTACKER, "attacker.example", "localhost.attacker.example", "127.0.0.1.nip.io",
                                  "0.0.0.0:5000", "[::2]:5000", "", "local host", "localhost:99999"])
def test_other_names_are_refused_by_default(client, host):
    assert bad_host(client.get("/api/documents", headers={"Host": host}))


def test_configured_hosts_replace_the_default(make_app):
    client = make_app(ALLOWED_HOSTS=["vice.example.org", "tools.example.org:8443", ".team.example"]).test_client()
    allowed = ["vice.example.org", "VICE.example.org:5000", "tools.example.org:8443", "team.example",
               "a.team.example:9000"]
    refused = ["localhost", "127.0.0.1:5000", "tools.example.org", "tools.example.org:9000", "evilteam.example",
               "vice.example.org.attacker.example"]
    for host in allowed:
        assert client.get("/api/documents", headers={"Host": host}).status_code == 200, host
    for host in refused:
        assert bad_host(client.get("/api/documents", headers={"Host": host})), host


def test_a_port_entry_defaults_to_the_schemes_port(make_app):
    client = make_app(ALLOWED_HOSTS=["vice.example.org:443"]).test_client()
    assert client.get("/api/documents", base_url="https://vice.example.org").status_code == 200
    assert bad_host(client.get("/api/documents", base_url="http://vice.example.org"))


def test_the_default_hosts_name_the_listening_address_once():
    from vice_ai.security.hosts import LOCAL_NAMES, allowed_hosts

    # run.py prints this list at start-up: "127.0.0.1" must not appear twice.
    assert allowed_hosts({"LISTEN_HOST": "127.0.0.1"}) == list(LOCAL_NAMES)
    assert allowed_hosts({"LISTEN_HOST": "10.0.0.5"}) == [*LOCAL_NAMES, "10.0.0.5"]


def test_a_star_allows_any_host(make_app):
    client = make_app(ALLOWED_HOSTS=["*"]).test_client()
    assert client.get("/api/documents", headers={"Host": ATTACKER}).status_code == 200


def test_the_environment_sets_the_allowed_hosts(make_app, monkeypatch):
    monkeypatch.setenv("VICE_AI_ALLOWED_HOSTS", " vice.example.org , [::1]:5000 ")
    client = make_app().test_client()
    assert client.get("/api/documents", headers={"Host": "vice.example.org"}).status_code == 200
    assert client.get("/api/documents", headers={"Host": "[::1]:5000"}).status_code == 200
    assert bad_host(client.get("/api/documents", headers={"Host": "[::1]:5001"}))
    assert bad_host(client.get("/api/documents", headers={"Host": "localhost"}))


def test_the_listening_address_is_allowed(make_app):
    client = make_app(LISTEN_HOST="192.168.1.20").test_client()
    assert client.get("/api/documents", headers={"Host": "192.168.1.20:5000"}).status_code == 200
    assert client.get("/api/documents", headers={"Host": "localhost"}).status_code == 200
    everywhere = make_app(LISTEN_HOST="0.0.0.0").test_client()
    assert everywhere.get("/api/documents", headers={"Host": socket.gethostname()}).status_code == 200
    assert bad_host(everywhere.get("/api/documents", headers={"Host": "0.0.0.0:5000"}))


def test_a_malformed_entry_is_refused_at_start(make_app):
    with pytest.raises(ValueError, match="not a host name"):
        make_app(ALLOWED_HOSTS=["http://vice.example.org/"])


def test_behind_a_trusted_proxy_the_forwarded_host_counts(make_app):
    client = make_app(TRUST_PROXY=1, ALLOWED_HOSTS=["vice.example.org"]).test_client()
    forwarded = {"Host": "127.0.0.1:8000", "X-Forwarded-Host": "vice.example.org", "X-Forwarded-Proto": "https"}
    assert client.get("/api/documents", headers=forwarded).status_code == 200
    assert bad_host(client.get("/api/documents", headers={**forwarded, "X-Forwarded-Host": ATTACKER}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_py_allows_the_address_it_listens_on(data_dir):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VICE_AI_", "OPENAI_"))}
    env.update({"VICE_AI_DATA_DIR": data_dir, "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen([sys.executable, str(PROJECT / "run.py"), "--host", "127.0.0.2", "--port", str(port)],
                            cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.2", port, timeout=2)
                conn.request("GET", "/api/health")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "run.py did not start"
                time.sleep(0.1)
        for host, status in [(f"127.0.0.2:{port}", 200), (f"localhost:{port}", 200), (ATTACKER, 400)]:
            conn = http.client.HTTPConnection("127.0.0.2", port, timeout=5)
            conn.request("GET", "/api/health", headers={"Host": host})
            assert conn.getresponse().status == status, host
            conn.close()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode()
    assert "127.0.0.2" in output and "VICE_AI_ALLOWED_HOSTS" in output


# -- finding 9: Origin by scheme, host and port; Sec-Fetch-Site in any case ------------------

def create(client, **headers):
    return client.post("/api/documents", json={"title": "Plan"}, headers=headers)


@pytest.mark.parametrize("origin", ["https://localhost", "https://localhost:80", "http://localhost:8080",
                                    "ws://localhost", "null", "http://localhost/somewhere", "http://user@localhost",
                                    "localhost", "http://", "http://localhost:99999", "http://evil.example"])
def test_another_origin_is_refused(alice, origin):
    resp = create(alice, Origin=origin)
    assert resp.status_code == 403 and resp.get_json()["error"]["reason"] == "cross_site", origin


@pytest.mark.parametrize("origin", ["http://localhost", "HTTP://LOCALHOST", "http://LocalHost:80"])
def test_this_origin_is_accepted_in_any_spelling(alice, origin):
    assert create(alice, Origin=origin).status_code == 201, origin


def test_an_https_server_accepts_only_its_https_origin(alice):
    assert create(alice, Origin="https://localhost").status_code == 403  # the test client is http
    https = {"base_url": "https://localhost"}
    assert alice.post("/api/documents", json={"title": "Plan"}, headers={"Origin": "https://localhost"},
                      **https).status_code == 201
    refused = alice.post("/api/documents", json={"title": "Plan"}, headers={"Origin": "http://localhost"}, **https)
    assert refused.status_code == 403


@pytest.mark.parametrize("value", ["cross-site", "Cross-Site", "CROSS-SITE", "same-site", "Same-Site", " same-site "])
def test_sec_fetch_site_is_read_in_any_case(alice, value):
    resp = create(alice, **{"Sec-Fetch-Site": value})
    assert resp.status_code == 403 and resp.get_json()["error"]["reason"] == "cross_site", value


@pytest.mark.parametrize("value", ["same-origin", "Same-Origin", "none"])
def test_same_origin_fetches_pass(alice, value):
    assert create(alice, **{"Sec-Fetch-Site": value}).status_code == 201


def test_a_websocket_from_an_https_page_on_an_http_server_is_refused(make_app, start_server):
    app = password_app(make_app)
    owner = app.test_client()
    signup(owner, "alice")
    session = make_session(owner, make_document(owner))
    server = start_server(app)
    path, cookie = f"/ws/sessions/{session['id']}", cookie_header(owner)
    status, body = handshake(server.port, path, f"https://127.0.0.1:{server.port}", cookie)
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    assert handshake(server.port, path, f"HTTP://127.0.0.1:{server.port}", cookie)[0] == 101
