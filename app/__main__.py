"""`python -m app`: JSON logging comes first, so that even a failing import below is logged as JSON."""

import sys

from app.logs import configure_logging

configure_logging("INFO", "json")  # the settings, read by main(), may choose another level and format

from app.main import main  # noqa: E402 - deliberately after logging is in place

sys.exit(main())
