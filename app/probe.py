"""`python -m app.probe`: the container's health check, with nothing but the standard library.

Exits 0 when the service on this machine answers /health/live with 200, else 1; no curl or shell
needed in the image.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 2.0


def probe(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=TIMEOUT_S) as response:
            return response.status == 200  # noqa: PLR2004
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":  # pragma: no cover - run by the container engine; probe() is tested directly
    sys.exit(0 if probe(os.environ.get("PORT", "8000")) else 1)
