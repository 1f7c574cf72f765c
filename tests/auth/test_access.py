"""Who may call what: every operation of the API document with no token, a token short of its scope, and the
right one; what stays open; where a token is not accepted; and the old contract when no issuer is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Controller, Litestar, get
from litestar.exceptions import ImproperlyConfiguredException
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.auth.access import OPEN, requires
from app.auth.plugin import BearerTokenAccess
from app.http.problems import EXCEPTION_HANDLERS
from app.settings import AuthSettings
from tests.auth.conftest import auth_settings, bearer
from tests.auth.issuer import AUDIENCE, Issuer
from tests.conftest import Client
from tests.operations import ITEM, OPERATIONS, PROTECTED, SCOPES

OPEN_PATHS = ["/health", "/health/live", "/health/ready", "/metrics", "/schema", "/schema/openapi.json"]


async def new_item_id(client: Client, issuer: Issuer) -> str:
    created = await client.post("/api/v1/items", json=ITEM, headers=bearer(issuer.token("items:write")))
    assert created.status_code == 201
    item_id: str = created.json()["id"]
    return item_id


async def call(client: Client, issuer: Issuer, operation: str, headers: dict[str, str]) -> Any:
    method, path, _, body, *_ = PROTECTED[operation]
    url = path.format(item_id=await new_item_id(client, issuer))
    return await client.request(method, url, json=body, headers=headers)


async def test_every_operation_but_the_open_ones_declares_its_scope(auth_client: Client) -> None:
    document = (await auth_client.get("/schema/openapi.json")).json()
    declared = {
        operation["operationId"]: operation.get("security")
        for path in document["paths"].values()
        for operation in path.values()
    }
    protected = {name: security for name, security in declared.items() if security}
    assert protected == {
        name: [{"bearerAuth": [scope]} for scope in (operation.scope, *operation.also_granted_by)]
        for name, operation in PROTECTED.items()
    }
    assert set(declared) - set(protected) == set(OPERATIONS) - set(PROTECTED)
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for name in protected:
        responses = next(op for p in document["paths"].values() for op in p.values() if op["operationId"] == name)
        assert {"401", "403", "503"} <= set(responses["responses"]), name


async def test_without_an_issuer_the_document_asks_for_no_token(sqlite_client: Client) -> None:
    document = (await sqlite_client.get("/schema/openapi.json")).json()

    assert not [op for path in document["paths"].values() for op in path.values() if op.get("security")]
    assert "securitySchemes" not in document.get("components", {})


@pytest.mark.parametrize("operation", PROTECTED)
async def test_without_a_token_every_protected_operation_answers_401(
    auth_client: Client, issuer: Issuer, operation: str
) -> None:
    response = await call(auth_client, issuer, operation, {})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="items-service"'
    assert response.json()["type"].endswith("/authentication-required")


@pytest.mark.parametrize("operation", PROTECTED)
async def test_a_token_without_the_operations_scope_answers_403_naming_it(
    auth_client: Client, issuer: Issuer, operation: str
) -> None:
    scope, granting = PROTECTED[operation].scope, PROTECTED[operation].also_granted_by
    others = [other for other in SCOPES if other != scope and other not in granting]
    response = await call(auth_client, issuer, operation, bearer(issuer.token(*others)))

    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="items-service", error="insufficient_scope"')
    assert challenge.endswith(f'scope="{scope}"')
    assert response.json()["type"].endswith("/insufficient-scope")


@pytest.mark.parametrize(
    ("operation", "scope"),
    [(name, scope) for name, operation in PROTECTED.items() for scope in (operation.scope, *operation.also_granted_by)],
)
async def test_a_token_with_a_scope_that_grants_the_operation_is_served(
    auth_client: Client, issuer: Issuer, operation: str, scope: str
) -> None:
    # items:write grants reading too: a write answers with the item, so a token that may write may read anyway.
    response = await call(auth_client, issuer, operation, bearer(issuer.token(scope)))
    assert response.status_code == PROTECTED[operation].status, response.text


@pytest.mark.parametrize("path", OPEN_PATHS)
async def test_health_metrics_and_the_api_document_stay_open(auth_client: Client, path: str) -> None:
    assert (await auth_client.get(path)).status_code == 200


@pytest.mark.parametrize(
    "send",
    [
        {"params": {"access_token": "TOKEN"}},
        {"headers": {"Cookie": "access_token=TOKEN"}},
        {"headers": {"Cookie": "Authorization=Bearer TOKEN"}},
        {"headers": {"X-Access-Token": "TOKEN"}},
        {"data": {"access_token": "TOKEN"}},  # a form body, which RFC 6750 section 2.2 would allow
    ],
)
async def test_a_token_anywhere_but_the_authorization_header_is_not_accepted(
    auth_client: Client, issuer: Issuer, send: dict[str, dict[str, str]]
) -> None:
    token = issuer.token(*SCOPES)
    where = {
        kind: {name: value.replace("TOKEN", token) for name, value in entries.items()} for kind, entries in send.items()
    }
    response = await auth_client.post("/api/v1/calculate", **where)  # pyright: ignore[reportArgumentType]
    assert response.status_code == 401
    assert response.json()["type"].endswith("/authentication-required")


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Token abc", "Bearer", "bearer", "Bearertoken"])
async def test_another_scheme_or_an_empty_bearer_is_refused(auth_client: Client, authorization: str) -> None:
    response = await auth_client.get("/api/v1/items", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="items-service"')


async def test_the_scheme_name_is_case_insensitive(auth_client: Client, issuer: Issuer) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        response = await auth_client.get(
            "/api/v1/items", headers={"Authorization": f"{scheme} {issuer.token('items:read')}"}
        )
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"x" * 70_000, "application/json"), (b"<a/>", "application/xml")],
)
async def test_access_is_checked_before_the_body_is_read(
    auth_client: Client, issuer: Issuer, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    assert (await auth_client.post("/api/v1/items", content=body, headers=headers)).status_code == 401
    wrong = headers | bearer(issuer.token("items:read"))
    assert (await auth_client.post("/api/v1/items", content=body, headers=wrong)).status_code == 403


async def test_a_refused_request_changes_nothing(auth_client: Client, issuer: Issuer) -> None:
    reader = bearer(issuer.token("items:read"))
    item_id = await new_item_id(auth_client, issuer)
    before = (await auth_client.get("/api/v1/items", headers=reader)).json()

    for headers in ({}, reader, bearer(issuer.token("items:write", claims={"aud": "other"}))):
        await auth_client.delete(f"/api/v1/items/{item_id}", headers=headers)
        await auth_client.patch(f"/api/v1/items/{item_id}", json={"name": "x"}, headers=headers)
        await auth_client.post("/api/v1/items", json=ITEM, headers=headers)

    assert (await auth_client.get("/api/v1/items", headers=reader)).json() == before


async def test_without_an_issuer_every_operation_is_open_as_before(sqlite_client: Client) -> None:
    for name, (method, path, _, body, expected, _) in PROTECTED.items():
        created = await sqlite_client.post("/api/v1/items", json=ITEM)
        assert created.status_code == 201
        response = await sqlite_client.request(method, path.format(item_id=created.json()["id"]), json=body)
        assert response.status_code == expected, name
        # A token, even a bogus one, is ignored where no issuer is trusted.
        assert (await sqlite_client.get("/api/v1/items", headers=bearer("bogus"))).status_code == 200


async def test_options_stays_open_so_that_browsers_may_ask_before_sending_a_token(auth_client: Client) -> None:
    for path in ("/api/v1/items", "/api/v1/items/0193f0c4-7a51-7cc4-9a6e-3f1d2b8c4e10", "/api/v1/calculate"):
        response = await auth_client.options(path)
        assert response.status_code == 204, path
        assert "allow" in response.headers


async def test_no_token_reaches_the_metrics(issuer: Issuer, tmp_path: Path) -> None:
    tokens = [issuer.token(*SCOPES), issuer.token("items:read", claims={"aud": "other"}), "not.a.token"]
    # An app of its own: the 401s counted must be these requests', not those of earlier tests.
    async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
        for token in tokens:
            await client.get("/api/v1/items", headers=bearer(token))
            await client.get(f"/api/v1/items?access_token={token}")

        scraped = (await client.get("/metrics")).text
    assert 'status="401"' in scraped
    for token in tokens:
        for part in token.split("."):
            assert len(part) < 8 or part not in scraped


async def test_an_operation_that_declares_no_scope_is_closed_to_every_token(issuer: Issuer) -> None:
    # What is not explicitly opened is closed: an operation added without `opt=requires(...)` or `opt=OPEN`.
    @get("/undeclared")
    async def undeclared() -> str:
        return "reached"

    access = BearerTokenAccess(AuthSettings(issuer.url, AUDIENCE))
    app = Litestar([undeclared], plugins=[access], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app=app) as client:
        without = await client.get("/undeclared")
        with_every_scope = await client.get("/undeclared", headers=bearer(issuer.token(*SCOPES)))

    assert without.status_code == 401
    assert with_every_scope.status_code == 403
    assert with_every_scope.json()["detail"] == "This operation declares no scope that could grant access to it."


def test_an_operation_that_requires_a_scope_under_an_open_controller_stops_the_app_being_built(issuer: Issuer) -> None:
    # Authentication would skip it (its controller is OPEN) while the API document asked for a token.
    class Opened(Controller):
        path = "/opened"
        opt = OPEN

        @get(opt=requires("items:read"))
        async def inside(self) -> str:
            return "reached"

    access = BearerTokenAccess(AuthSettings(issuer.url, AUDIENCE))
    with pytest.raises(ImproperlyConfiguredException, match="requires a scope and is open"):
        Litestar([Opened], plugins=[access])
