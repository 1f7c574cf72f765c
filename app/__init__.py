"""Items and calculator HTTP service on Litestar, msgspec and uvicorn."""

from importlib.metadata import version

__version__ = version("items-service")
