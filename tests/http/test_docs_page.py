"""The documentation page at /schema: its assets come from the service, and a browser renders it offline."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path, PurePath
from urllib.parse import urlsplit

import httpx
import pytest

from app.http.docs_page import ASSETS_PATH
from tests.auth.issuer import Issuer
from tests.conftest import Client, sqlite_url
from tests.metrics import labels, samples
from tests.service import running_service

# Debian's package, which `just test` installs where it can; Google's build where that is what a machine has.
CHROMIUM = next(filter(None, map(shutil.which, ["chromium", "google-chrome-stable", "google-chrome"])), None)
BROWSER_TIMEOUT_S = 60
# Virtual time: the browser fast-forwards timers, and waits for pending requests, up to this budget.
RENDER_BUDGET_MS = 10_000
# Python's own table (images without /etc/mime.types) says application/javascript, Debian's text/javascript.
CONTENT_TYPES = {".css": {"text/css"}, ".js": {"text/javascript", "application/javascript"}, ".png": {"image/png"}}
ASSET_ROUTE = f"{ASSETS_PATH}/{{file_path}}"
# The page embeds the OpenAPI document in a script: only what lies outside scripts was rendered.
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)


def rendered_dom(url: str, profile: Path) -> str:
    """The page's DOM once its scripts have run, less the scripts, in headless Chromium cut off from other hosts."""
    assert CHROMIUM is not None
    completed = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            # Two locks on the door: no name resolves but the service's address, and anything that
            # still tries the network goes to a proxy nobody listens on (loopback bypasses proxies).
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
            f"--virtual-time-budget={RENDER_BUDGET_MS}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return SCRIPT.sub("", completed.stdout)


@pytest.mark.measure_subprocesses
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH: install it (`apt-get install chromium` on Debian)")
def test_the_docs_page_renders_the_operations_and_the_authorize_button_without_any_other_host(
    tmp_path: Path, issuer: Issuer
) -> None:
    environment = {"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ()}
    with running_service(environment, tmp_path / "service.log") as service:
        dom = rendered_dom(f"{service.url}/schema", tmp_path / "chromium-profile")

    assert "Create an item" in dom, dom
    # Swagger UI's button for the bearer scheme: it opens a field where a token is pasted, then sent with each call.
    assert re.search(r'<button class="btn authorize[^"]*"[^>]*>\s*<span>Authorize</span>', dom), dom


class LinkedURLs(HTMLParser):
    """Every URL an element of a page links to or loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 - any element
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value is not None]


async def page_urls(client: Client | httpx.AsyncClient) -> list[str]:
    page = await client.get("/schema")
    assert page.status_code == 200
    parser = LinkedURLs()
    parser.feed(page.text)
    return parser.urls


async def test_the_page_loads_its_assets_from_its_own_origin_only(sqlite_client: Client) -> None:
    urls = await page_urls(sqlite_client)

    assert {PurePath(url).suffix for url in urls} == set(CONTENT_TYPES), "styles, scripts and an icon"
    for url in urls:
        assert urlsplit(url)[:2] == ("", ""), f"{url} is not on the page's own origin"
        response = await sqlite_client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] in CONTENT_TYPES[PurePath(url).suffix], url


async def test_the_assets_may_be_cached_for_good_as_their_url_names_the_version(sqlite_client: Client) -> None:
    for url in await page_urls(sqlite_client):
        response = await sqlite_client.get(url)

        assert re.search(r"/swagger-ui-\d+\.\d+\.\d+/", url), url
        assert response.headers["cache-control"] == "max-age=31536000, public, immutable"


@pytest.mark.parametrize(
    "name", ["index.html", "swagger-initializer.js", "oauth2-redirect.html", "swagger-ui-bundle.js.map", "index.j2"]
)
async def test_files_the_page_does_not_load_are_not_served(sqlite_client: Client, name: str) -> None:
    response = await sqlite_client.get(f"{ASSETS_PATH}/{name}")

    assert response.status_code == 404


async def test_the_assets_stay_out_of_the_openapi_document(sqlite_client: Client) -> None:
    document = (await sqlite_client.get("/schema/openapi.json")).json()

    assert not [path for path in document["paths"] if path.startswith("/schema")]


async def test_asset_requests_are_logged_and_counted_under_their_route_template(tmp_path: Path) -> None:
    with running_service({"DATABASE_URL": sqlite_url(tmp_path)}, tmp_path / "log") as service:
        async with httpx.AsyncClient(base_url=service.url) as client:
            urls = await page_urls(client)
            for url in urls:
                await client.get(url)
            # A request is counted once its answer is sent, and uvicorn may serve the next request on the
            # connection before that: a scrape right after the last answer can miss it.
            counted = 0.0
            for _ in range(50):
                scraped = samples((await client.get("/metrics")).text)
                counted = scraped.get(("http_requests_total", labels("GET", ASSET_ROUTE, "200")), 0.0)
                if counted >= len(urls):
                    break
                await asyncio.sleep(0.1)
        assert service.stop() == 0

    assert counted == len(urls)
    access_lines = [record for record in service.records() if str(record.get("path", "")).startswith(ASSETS_PATH)]
    assert len(access_lines) == len(urls)
    assert all((line["route"], line["status"]) == (ASSET_ROUTE, 200) for line in access_lines), access_lines
