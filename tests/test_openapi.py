"""The API document at /schema/openapi.json: valid OpenAPI 3.1, stable operation ids, and clients made from it work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.conftest import Client, sqlite_url
from tests.service import running_service

DOCUMENT_PATH = "/schema/openapi.json"
# Renaming an operation renames the function in every generated client: a deliberate change, made here.
OPERATIONS = {
    "createItem": "POST /api/v1/items",
    "listItems": "GET /api/v1/items",
    "getItem": "GET /api/v1/items/{item_id}",
    "replaceItem": "PUT /api/v1/items/{item_id}",
    "updateItem": "PATCH /api/v1/items/{item_id}",
    "deleteItem": "DELETE /api/v1/items/{item_id}",
    "calculate": "POST /api/v1/calculate",
    "getHealth": "GET /health",
    "getLiveness": "GET /health/live",
    "getReadiness": "GET /health/ready",
    "getMetrics": "GET /metrics",
}
CLIENT_SCENARIO = Path(__file__).parent / "generated_client_scenario.py"
SUBPROCESS_TIMEOUT_S = 20


async def test_the_api_document_is_valid_openapi_3_1(sqlite_client: Client) -> None:
    response = await sqlite_client.get(DOCUMENT_PATH)

    assert response.status_code == 200
    validate(response.json(), cls=OpenAPIV31SpecValidator)


async def test_every_operation_has_its_stable_operation_id(sqlite_client: Client) -> None:
    document = (await sqlite_client.get(DOCUMENT_PATH)).json()

    operations = {
        operation["operationId"]: f"{method.upper()} {path}"
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
    }
    assert operations == OPERATIONS


def generate_client(document: Path, package: Path) -> None:
    """openapi-python-client's package for `document`; any warning about the document fails the test."""
    config = package.parent / "generator.json"
    # Its default post-hooks only format the code (with ruff, which need not be on PATH): no use to a test.
    config.write_text(json.dumps({"post_hooks": []}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none", "--fail-on-warning"]
    result = subprocess.run(
        [*command, "--path", str(document), "--output-path", str(package), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_client_generated_from_the_running_service_works_against_it(tmp_path: Path) -> None:
    package = tmp_path / "generated" / "items_client"
    package.parent.mkdir()
    with running_service({"DATABASE_URL": sqlite_url(tmp_path)}, tmp_path / "service.log") as service:
        document = tmp_path / "openapi.json"
        document.write_bytes(httpx.get(service.url + DOCUMENT_PATH).raise_for_status().content)
        generate_client(document, package)
        python_path = os.pathsep.join(filter(None, [str(package.parent), os.environ.get("PYTHONPATH")]))
        result = subprocess.run(
            [sys.executable, str(CLIENT_SCENARIO), service.url],
            env={**os.environ, "PYTHONPATH": python_path},
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )

    assert result.returncode == 0, result.stdout + result.stderr
