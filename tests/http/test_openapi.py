"""The API document at /schema/openapi.json: valid OpenAPI 3.1, stable operation ids, and clients made from it work."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import httpx

from tests.auth.issuer import Issuer
from tests.conftest import Client, sqlite_url
from tests.operations import OPERATIONS
from tests.service import running_service, uv_executable

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_PATH = "/schema/openapi.json"
# Renaming an operation renames the function in every generated client: a deliberate change, made here.
CLIENT_SCENARIO = Path(__file__).parent / "generated_client_scenario.py"
SUBPROCESS_TIMEOUT_S = 60


def openapi_tool(*command: str, env: dict[str, str] | None = None) -> None:
    """Run `command` in the locked `openapi-tools` environment, kept apart from the tests' (pyproject.toml), with
    `env` added to the tests' environment (uv's cache, certificates and proxies among it)."""
    uv_run = [uv_executable(), "run", "--locked", "--isolated", "--only-group", "openapi-tools"]
    result = subprocess.run(
        [*uv_run, *command],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tests_run_the_app_without_pydantic_as_production_does() -> None:
    # Where pydantic can be imported, Litestar adds its plugin and encoders: the app would answer differently.
    assert importlib.util.find_spec("pydantic") is None


async def test_the_api_document_is_valid_openapi_3_1(sqlite_client: Client, tmp_path: Path) -> None:
    response = await sqlite_client.get(DOCUMENT_PATH)
    assert response.status_code == 200
    document = tmp_path / "openapi.json"
    document.write_bytes(response.content)

    openapi_tool("openapi-spec-validator", "--schema", "3.1", "--validation-errors", "all", str(document))


async def test_every_operation_has_its_stable_operation_id(sqlite_client: Client) -> None:
    document = (await sqlite_client.get(DOCUMENT_PATH)).json()

    operations = {
        operation["operationId"]: f"{method.upper()} {path}"
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
    }
    assert operations == {name: f"{operation.method} {operation.path}" for name, operation in OPERATIONS.items()}


def test_a_client_generated_from_the_running_service_works_against_it_with_and_without_tokens(
    tmp_path: Path, issuer: Issuer
) -> None:
    package = tmp_path / "generated" / "items_client"
    config = tmp_path / "generator.json"
    # Its default post-hooks only format the generated code: no use to a test.
    config.write_text('{"post_hooks": []}')
    scenario_environment = {"PYTHONPATH": str(package.parent)}
    (tmp_path / "protected").mkdir()
    protected = {"DATABASE_URL": sqlite_url(tmp_path / "protected"), **issuer.environ()}
    with running_service(protected, tmp_path / "protected.log") as service:
        # Generated from the document of a service that checks tokens: the whole contract, 401 and 403 included.
        document = tmp_path / "openapi.json"
        document.write_bytes(httpx.get(service.url + DOCUMENT_PATH).raise_for_status().content)
        # Any warning about the document fails the generation.
        openapi_tool(
            "openapi-python-client", "generate", "--meta", "none", "--fail-on-warning",
            "--path", str(document), "--output-path", str(package), "--config", str(config),
        )  # fmt: skip
        token = issuer.token("items:read", "items:write", "calculate")
        openapi_tool("python", str(CLIENT_SCENARIO), service.url, token, env=scenario_environment)

    # The old demo's clients send no token to a service without an issuer.
    with running_service({"DATABASE_URL": sqlite_url(tmp_path)}, tmp_path / "service.log") as service:
        openapi_tool("python", str(CLIENT_SCENARIO), service.url, env=scenario_environment)
