"""An identity provider standing in for a deployment's own, where none is at hand (`.ci/run`'s staging): keys, a
certificate authority and a smoke-test client made for this run alone, served over HTTPS until SIGTERM.

    python -m tests.auth.stand_in_issuer NAME DIRECTORY

NAME is the host name the service reaches it by (podman's containers: host.containers.internal). DIRECTORY receives
`ca.pem`, the authority to trust (SSL_CERT_FILE), and then `environment`: AUTH_ISSUER and AUTH_AUDIENCE for the
service, SMOKE_TOKEN_URL, SMOKE_CLIENT_ID and SMOKE_CLIENT_SECRET for `just smoke`, as shell assignments.
"""

from __future__ import annotations

import secrets
import shlex
import signal
import ssl
import sys
from pathlib import Path

import trustme

from tests.auth.issuer import AUDIENCE, Issuer, rsa_key

SMOKE_CLIENT = "smoke-test"


def serve(name: str, directory: Path) -> Issuer:
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with authority.issue_cert(name, "127.0.0.1").private_key_and_cert_chain_pem.tempfile() as certificate:
        tls.load_cert_chain(certificate)
    authority.cert_pem.write_to_path(str(directory / "ca.pem"))
    # Every interface: the containers connect from a bridge that exists only while one runs. Tokens are granted only
    # to the client whose secret is written below.
    issuer = Issuer([rsa_key("stand-in")], port=0, bind="0.0.0.0", name=name, tls=tls)  # noqa: S104
    issuer.clients[SMOKE_CLIENT] = secrets.token_urlsafe(32)
    issuer.start()
    settings = {
        "AUTH_ISSUER": issuer.url,
        "AUTH_AUDIENCE": AUDIENCE,
        "SMOKE_TOKEN_URL": f"https://127.0.0.1:{issuer.port}/token",
        "SMOKE_CLIENT_ID": SMOKE_CLIENT,
        "SMOKE_CLIENT_SECRET": issuer.clients[SMOKE_CLIENT],
    }
    written = directory / "environment.partial"
    written.write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in settings.items()))
    written.replace(directory / "environment")  # whole or not at all, for whoever waits for it
    return issuer


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    running = serve(sys.argv[1], Path(sys.argv[2]))
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    running.stop()
