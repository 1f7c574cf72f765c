"""The documentation page: Swagger UI, with its scripts and styles served by the service itself.

The page then works where no CDN can be reached: isolated networks, strict proxies.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router  # pyright: ignore[reportUnknownVariableType] - os.PathLike left open
from swagger_ui_bundle import swagger_ui_path  # pyright: ignore[reportMissingTypeStubs] - the package ships none

from app.auth.access import OPEN

DOCS_PATH = "/schema"
# The directory's name carries Swagger UI's version: in the URL, it lets browsers keep the assets for good.
ASSETS_PATH = f"{DOCS_PATH}/{swagger_ui_path.name}"
STYLES = "swagger-ui.css"
SCRIPT = "swagger-ui-bundle.js"
PRESET_SCRIPT = "swagger-ui-standalone-preset.js"
ICON = "favicon-32x32.png"
PAGE_ASSETS = frozenset({STYLES, SCRIPT, PRESET_SCRIPT, ICON})
ASSETS_CACHE = CacheControlHeader(public=True, max_age=365 * 24 * 60 * 60, immutable=True)


def only_what_the_page_loads(request: Request[Any, Any, Any]) -> None:
    """Swagger UI's distribution also holds a demo page, templates and source maps: the page loads none of them."""
    if PurePath(request.path_params["file_path"]).name not in PAGE_ASSETS:
        raise NotFoundException


def swagger_ui() -> SwaggerRenderPlugin:
    """The page at DOCS_PATH, loading its assets from ASSETS_PATH."""
    return SwaggerRenderPlugin(
        path="/",
        css_url=f"{ASSETS_PATH}/{STYLES}",
        js_url=f"{ASSETS_PATH}/{SCRIPT}",
        standalone_preset_js_url=f"{ASSETS_PATH}/{PRESET_SCRIPT}",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/{ICON}'>",
    )


def swagger_ui_assets() -> Router:
    """The files the page loads, at ASSETS_PATH, kept out of the OpenAPI document."""
    return create_static_files_router(
        ASSETS_PATH,
        directories=[swagger_ui_path],
        before_request=only_what_the_page_loads,
        name="swagger-ui",
        cache_control=ASSETS_CACHE,
        include_in_schema=False,
        opt=OPEN,
    )


def docs_router() -> Router:
    """Where Litestar serves the page and the API document: open, as Litestar's own router would be otherwise."""
    return Router(DOCS_PATH, route_handlers=[], include_in_schema=False, dto=None, return_dto=None, opt=OPEN)
