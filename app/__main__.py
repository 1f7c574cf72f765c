"""`python -m app`: the settings are read and logging is configured, once, before the service's modules are
imported, so that every line is JSON from the first, the traceback of a failing import included."""

import os
import sys

from app.observability.logs import configure_logging, get_logger
from app.settings import Settings, SettingsError

try:
    settings = Settings.from_environ(os.environ)
except SettingsError as error:
    # The settings chose no format: this one line must still be JSON for log aggregators, unless asked otherwise.
    configure_logging("INFO", "console" if os.environ.get("LOG_FORMAT", "").lower() == "console" else "json")
    get_logger("app.main").critical(
        "invalid configuration", variable=error.variable, value=error.value, allowed=error.allowed, message=str(error)
    )
    sys.exit(2)
configure_logging(settings.log_level, settings.log_format, trace_ids=settings.traces_endpoint is not None)

from app.main import main  # noqa: E402 - deliberately after logging is in place

sys.exit(main(settings))
