"""Items and calculator HTTP service on Litestar, msgspec and uvicorn."""

from importlib.metadata import version

# The distribution's name in pyproject.toml, which everything the service says it is derives from: the token realm,
# the traces' service, the problem types, the API document's title, the start-up line. Looking the version up by it
# holds the two together (another name fails every import); `just rename` changes both.
SERVICE_NAME = "items-service"
__version__ = version(SERVICE_NAME)
