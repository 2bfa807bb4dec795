"""The API machinery: hardened JSON parsing, @declare validation, the OpenAPI document and the reference page."""
from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from flask import Blueprint, Flask, jsonify
from flask_sock import Sock
from openapi_spec_validator import validate as validate_spec
from pydantic import BaseModel, Field

from vice_ai.api import errors, openapi
from vice_ai.api.declare import ConfigMaxLen, ErrorOut, Schema, declare, declare_websocket
from vice_ai.api.jsonbody import parse_json
from vice_ai.errors import BadRequest


class SectionIn(Schema):
    title: Annotated[str, ConfigMaxLen("MAX_TITLE_CHARS", 300)]
    level: int = Field(1, ge=1, le=6)
    type: Literal["header", "text", "reference"] = "text"


class CreateThing(Schema):
    title: Annotated[str, ConfigMaxLen("MAX_TITLE_CHARS", 300)] = Field(min_length=1)
    sections: list[SectionIn] = Field(default_factory=list, max_length=3)
    meta: Any = None


class Options(Schema):
    note: str | None = None


class ThingOut(BaseModel):
    id: str
    title: str


class ExportQuery(Schema):
    format: Literal["markdown", "json"] = "markdown"
    chats: bool = False


class SendCommand(Schema):
    type: Literal["send"]
    content: str


class DeltaEvent(BaseModel):
    type: Literal["delta"]
    text: str


def _tiny_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, **config)
    errors.init_app(app)
    bp = Blueprint("things", __name__, url_prefix="/api/things")
    live = Blueprint("live", __name__)
    sock = Sock()

    @bp.post("")
    @declare(body=CreateThing, responses={201: ThingOut}, summary="Create a thing")
    def create_thing(body: CreateThing) -> Any:
        return jsonify({"id": "t1", "title": body.title, "sections": [s.model_dump() for s in body.sections],
                        "meta": body.meta}), 201

    @bp.post("/options")
    @declare(body=Options)
    def options(body: Options) -> Any:
        return jsonify(body.model_dump())

    @bp.get("/<thing_id>/export")
    @declare(query=ExportQuery, responses={200: ("text/markdown", "The thing as Markdown"), 404: ErrorOut})
    def export_thing(thing_id: str, query: ExportQuery) -> Any:
        return jsonify({"id": thing_id, **query.model_dump()})

    @bp.get("/<thing_id>/versions/<int:version>")
    @declare(responses={200: ThingOut})
    def version(thing_id: str, version: int) -> Any:
        return jsonify({"id": thing_id, "title": version})  # a wrong shape, on purpose: title is no string

    @bp.get("/files/<path:filename>")
    @declare(responses={200: ("application/octet-stream", "The file")})
    def download(filename: str) -> Any:
        return filename

    @bp.get("/legacy")
    def legacy() -> Any:
        """Not declared yet."""
        return jsonify({})

    @sock.route("/ws/things/<thing_id>", bp=live)
    @declare_websocket(summary="Live updates of a thing")
    def thing_socket(ws: Any, thing_id: str) -> None:
        ws.send("hello")

    app.register_blueprint(bp)
    app.register_blueprint(live)
    app.register_blueprint(openapi.bp)
    return app


@pytest.fixture
def tiny() -> Flask:
    return _tiny_app()


def _post(app: Flask, body: bytes | str, content_type: str = "application/json") -> Any:
    return app.test_client().post("/api/things", data=body, content_type=content_type)


def _error(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    payload = response.get_json()
    ErrorOut.model_validate(payload)
    assert payload["error"]["code"] == "bad_request"
    return payload["error"]


# ---- parse_json ----

def test_deep_nesting_is_refused_before_parsing(tiny: Flask) -> None:
    error = _error(_post(tiny, "[" * 990 + "]" * 990))
    assert "nested more than 32 levels" in error["message"]
    error = _error(_post(tiny, "[" * 100_000))  # not even valid JSON: the depth scan answers first
    assert "nested" in error["message"]


def test_a_number_too_long_to_convert_is_refused(tiny: Flask) -> None:
    error = _error(_post(tiny, '{"title": "t", "meta": ' + "9" * 5000 + "}"))
    assert "too many digits" in error["message"]


def test_depth_limit_is_exact(tiny: Flask) -> None:
    def body(depth: int) -> str:  # the outer object is level 1
        return '{"title": "t", "meta": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    assert _post(tiny, body(10)).status_code == 201
    assert _post(tiny, body(32)).status_code == 201
    assert "nested" in _error(_post(tiny, body(33)))["message"]
    # Brackets inside strings (escaped quotes too) are text, not nesting.
    text = json.dumps({"title": "\\\"" + "[" * 50, "meta": "{" * 50})
    assert _post(tiny, text).status_code == 201


def test_lone_surrogates_are_refused_with_their_path(tiny: Flask) -> None:
    error = _error(_post(tiny, b'{"title": "ok", "sections": [{"title": "a\\ud800b"}]}'))
    assert error["field"] == "sections[0].title"
    assert "sections[0].title" in error["message"] and "surrogate" in error["message"]
    error = _error(_post(tiny, b'{"title": "ok", "meta": {"k\\udfff": 1}}'))
    assert error["field"].startswith("meta.k") and "field name" in error["message"]
    # A proper pair is one character, not an error.
    response = _post(tiny, b'{"title": "\\ud83d\\ude00"}')
    assert response.status_code == 201 and response.get_json()["title"] == "\U0001F600"


@pytest.mark.parametrize("raw, words", [
    (b'{"title": NaN}', "NaN"),
    (b'{"title": "x", "meta": [Infinity]}', "Infinity"),
    (b'{"title": "\xff"}', "UTF-8"),
    (b'{"title": ', "not valid"),
])
def test_bad_json_is_a_400(tiny: Flask, raw: bytes, words: str) -> None:
    assert words in _error(_post(tiny, raw))["message"]


def test_parse_json_directly() -> None:
    assert parse_json('{"a": [1, {"b": "c"}]}') == {"a": [1, {"b": "c"}]}
    assert parse_json("[[[]]]", max_depth=3) == [[[]]]
    with pytest.raises(BadRequest):
        parse_json("[[[[]]]]", max_depth=3)
    with pytest.raises(BadRequest) as caught:
        parse_json('[{"x": ["\ud800"]}]')  # a str (a websocket frame) holding the code point itself
    assert caught.value.details["field"] == "[0].x[0]"


# ---- @declare: bodies ----

def test_valid_body_reaches_the_view(tiny: Flask) -> None:
    body = {"title": "Plan", "sections": [{"title": "Intro", "level": 2, "type": "header"}]}
    response = tiny.test_client().post("/api/things", json=body)
    assert response.status_code == 201
    assert response.get_json()["sections"] == [{"title": "Intro", "level": 2, "type": "header"}]


@pytest.mark.parametrize("body, field, message", [
    ({}, "title", "'title' is required."),
    ({"title": ""}, "title", "'title' must not be empty."),
    ({"title": 5}, "title", "'title' must be a string."),
    ({"title": "t", "colour": 1, "bogus": 2}, "bogus", "Unknown field(s): bogus, colour."),
    ({"title": "t", "sections": [{"title": "s", "x": 1}]}, "sections[0].x", "Unknown field(s): sections[0].x."),
    ({"title": "t", "sections": [{}]}, "sections[0].title", "'sections[0].title' is required."),
    ({"title": "t", "sections": [{"title": "s", "level": 9}]}, "sections[0].level",
     "'sections[0].level' must be between 1 and 6."),
    ({"title": "t", "sections": [{"title": "s", "level": "2"}]}, "sections[0].level",
     "'sections[0].level' must be an integer."),
    ({"title": "t", "sections": [{"title": "s", "level": True}]}, "sections[0].level",
     "'sections[0].level' must be an integer."),
    ({"title": "t", "sections": [{"title": "s", "type": "poem"}]}, "sections[0].type",
     "'sections[0].type' must be one of: header, text, reference."),
    ({"title": "t", "sections": [{"title": "s"}] * 4}, "sections", "'sections' has more than 3 items."),
    ({"title": "t", "sections": "none"}, "sections", "'sections' must be a list."),
    ({"title": "x" * 301}, "title", "'title' is longer than 300 characters."),
])
def test_invalid_bodies_name_the_field(tiny: Flask, body: Any, field: str, message: str) -> None:
    error = _error(tiny.test_client().post("/api/things", json=body))
    assert (error["field"], error["message"]) == (field, message)


def test_body_must_be_an_object(tiny: Flask) -> None:
    error = _error(_post(tiny, "[1, 2]"))
    assert error["message"] == "The body must be a JSON object." and "field" not in error


def test_config_limits_apply_at_validation_time() -> None:
    app = _tiny_app(MAX_TITLE_CHARS=10)
    client = app.test_client()
    assert client.post("/api/things", json={"title": "x" * 10}).status_code == 201
    error = _error(client.post("/api/things", json={"title": "t", "sections": [{"title": "y" * 11}]}))
    assert error == {"code": "bad_request", "message": "'sections[0].title' is longer than 10 characters.",
                     "field": "sections[0].title", "limit": 10}


def test_empty_body_means_an_empty_object(tiny: Flask) -> None:
    client = tiny.test_client()
    assert client.post("/api/things/options").get_json() == {"note": None}
    assert _error(client.post("/api/things/options", data=b"  ", content_type="application/json"))["message"].startswith(
        "The JSON is not valid")  # white space is not an empty body
    assert _error(client.post("/api/things"))["message"] == "'title' is required."


def test_a_body_must_be_sent_as_json(tiny: Flask) -> None:
    error = _error(_post(tiny, "title=x", content_type="application/x-www-form-urlencoded"))
    assert "Content-Type: application/json" in error["message"]


# ---- @declare: query strings ----

def test_query_is_validated(tiny: Flask) -> None:
    client = tiny.test_client()
    assert client.get("/api/things/t1/export").get_json() == {"id": "t1", "format": "markdown", "chats": False}
    for word, expected in (("1", True), ("yes", True), ("true", True), ("0", False), ("no", False)):
        assert client.get(f"/api/things/t1/export?chats={word}").get_json()["chats"] is expected
    assert client.get("/api/things/t1/export?format=json").get_json()["format"] == "json"
    error = _error(client.get("/api/things/t1/export?format=pdf"))
    assert error["field"] == "format" and "markdown, json" in error["message"]
    assert _error(client.get("/api/things/t1/export?chats=perhaps"))["message"] == "'chats' must be true or false."
    assert _error(client.get("/api/things/t1/export?colour=red"))["message"] == "Unknown field(s): colour."
    assert _error(client.get("/api/things/t1/export?chats=1&chats=0"))["message"] == "'chats' is given more than once."


def test_responses_are_checked_when_asked() -> None:
    assert _tiny_app().test_client().get("/api/things/t/versions/3").status_code == 200
    checked = _tiny_app(API_CHECK_RESPONSES=True)
    checked.config["PROPAGATE_EXCEPTIONS"] = False
    response = checked.test_client().get("/api/things/t/versions/3")
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"


# ---- the OpenAPI document ----

def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(path, method): op for path, item in doc["paths"].items() for method, op in item.items()}


def test_openapi_document_is_valid_and_complete(tiny: Flask) -> None:
    doc = openapi.build_openapi(tiny, ws_commands={"send": SendCommand}, ws_events={"delta": DeltaEvent})
    validate_spec(doc)
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"]
    ops = _operations(doc)
    for rule in tiny.url_map.iter_rules():
        methods = {"GET"} if rule.websocket else (rule.methods or set()) - {"HEAD", "OPTIONS"}
        path = rule.rule.replace("<int:version>", "{version}").replace("<path:filename>", "{filename}")
        path = path.replace("<thing_id>", "{thing_id}").replace("<path:name>", "{name}")
        for method in methods:
            assert (path, method.lower()) in ops, (rule.rule, method)
    assert "<" not in json.dumps(list(doc["paths"]))

    create = ops[("/api/things", "post")]
    assert create["operationId"] == "things.create_thing" and create["summary"] == "Create a thing"
    assert create["requestBody"]["required"] is True
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CreateThing"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/ThingOut")
    assert create["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert ops[("/api/things/options", "post")]["requestBody"]["required"] is False

    schemas = doc["components"]["schemas"]
    assert {"CreateThing", "SectionIn", "ThingOut", "ExportQuery", "ErrorOut"} <= set(schemas)
    assert schemas["CreateThing"]["properties"]["title"]["maxLength"] == 300
    assert "$defs" not in json.dumps(doc) and "#/$defs" not in json.dumps(doc)  # all hoisted into components

    export = ops[("/api/things/{thing_id}/export", "get")]
    params = {p["name"]: p for p in export["parameters"]}
    assert params["thing_id"]["in"] == "path" and params["thing_id"]["schema"] == {"type": "string"}
    assert params["format"]["in"] == "query" and params["format"]["schema"]["enum"] == ["markdown", "json"]
    assert params["chats"]["schema"]["type"] == "boolean" and params["chats"]["required"] is False
    assert export["responses"]["200"]["content"] == {"text/markdown": {}}
    version = ops[("/api/things/{thing_id}/versions/{version}", "get")]
    assert {p["name"]: p["schema"] for p in version["parameters"]}["version"] == {"type": "integer"}

    socket = ops[("/ws/things/{thing_id}", "get")]
    assert socket["x-websocket"] is True and socket["summary"] == "Live updates of a thing"
    assert set(socket["responses"]) == {"101", "401", "403", "404"} and "x-undeclared" not in socket
    assert doc["x-websocket"]["commands"]["send"] == {"$ref": "#/components/schemas/SendCommand"}
    assert schemas["DeltaEvent"]["properties"]["type"]["const"] == "delta"

    legacy = ops[("/api/things/legacy", "get")]
    assert legacy["x-undeclared"] is True and legacy["summary"] == "Not declared yet."
    assert [op for op in ops.values() if op.get("x-undeclared")] == [legacy]
    assert len({op["operationId"] for op in ops.values()}) == len(ops)


def test_strict_mode_names_undeclared_routes(tiny: Flask) -> None:
    with pytest.raises(openapi.UndeclaredRoutes, match=r"things\.legacy"):
        openapi.build_openapi(tiny, strict=True)
    tiny.view_functions["things.legacy"] = declare()(tiny.view_functions["things.legacy"])
    openapi.build_openapi(tiny, strict=True)  # static files are described without a declaration


def test_an_undeclared_websocket_is_marked() -> None:
    app = Flask(__name__)
    sock = Sock(app)

    @sock.route("/ws/raw/<int:n>")
    def raw(ws: Any, n: int) -> None:
        ws.send(str(n))

    op = openapi.build_openapi(app)["paths"]["/ws/raw/{n}"]["get"]
    assert op["x-websocket"] is True and op["x-undeclared"] is True
    assert op["parameters"] == [{"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}}]
    with pytest.raises(openapi.UndeclaredRoutes, match="raw"):
        openapi.build_openapi(app, strict=True)


def test_openapi_json_is_served(tiny: Flask) -> None:
    openapi.register_websocket_messages(tiny, {"send": SendCommand}, {"delta": DeltaEvent})
    response = tiny.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    served = response.get_json()
    assert served == json.loads(json.dumps(openapi.build_openapi(
        tiny, ws_commands={"send": SendCommand}, ws_events={"delta": DeltaEvent})))
    assert "/api/openapi.json" in served["paths"] and "send" in served["x-websocket"]["commands"]


def test_the_real_app_is_fully_described(app: Flask) -> None:
    if "openapi" not in app.blueprints:
        app.register_blueprint(openapi.bp)
    doc = openapi.build_openapi(app)
    validate_spec(doc)
    assert len(_operations(doc)) == sum(
        1 if rule.websocket else len((rule.methods or set()) - {"HEAD", "OPTIONS"}) for rule in app.url_map.iter_rules())


# ---- the reference page ----

def test_reference_page_and_assets(tiny: Flask) -> None:
    client = tiny.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "http" not in html  # no inline code, nothing from another site
    for name, mimetype in (("swagger-ui.css", "text/css"), ("swagger-ui-bundle.js", "text/javascript"),
                           ("apidocs.js", "text/javascript"), ("favicon.svg", "image/svg+xml")):
        assert f"/api/docs/assets/{name}" in html or name == "favicon.svg"
        asset = client.get(f"/api/docs/assets/{name}")
        assert asset.status_code == 200 and asset.mimetype == mimetype and len(asset.data) > 100
        assert client.get(f"/api/docs/assets/{name}", headers={"If-None-Match": asset.headers["ETag"]}).status_code == 304
    assert b"SwaggerUIBundle" in client.get("/api/docs/assets/apidocs.js").data
    for name in ("nope.js", "../declare.py", "%2e%2e/jsonbody.py"):
        missing = client.get(f"/api/docs/assets/{name}")
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
