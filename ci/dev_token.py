"""Access tokens for trying the service locally, signed by a development key of this checkout.

    python ci/dev_token.py [SCOPE ...]      print a token for SCOPES, valid for 15 minutes (`just token`)
    python ci/dev_token.py --environment    print the settings that make the service trust that key only
                                            (`just run-dev-auth` evaluates them)

The key (EC P-256) is made on first use in .dev-auth/ (DEV_AUTH_DIR overrides), which git ignores and the
image's build context never holds; its public half is written there as a JWK Set that the service reads
from disk. The service accepts a key set on disk only with ENVIRONMENT development or test, and only when
told to with AUTH_JWKS_URL: the image and the deploy files never are.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "http://localhost/items-service-development"
AUDIENCE = "items-service"
LIFETIME_S = 15 * 60
KEY_FILE = "signing-key.pem"
KEY_SET_FILE = "jwks.json"


def key_directory() -> Path:
    return Path(os.environ.get("DEV_AUTH_DIR") or ROOT / ".dev-auth")


def signing_key(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """The development key and its id, made (with its public key set) on first use."""
    key_path, key_set_path = directory / KEY_FILE, directory / KEY_SET_FILE
    if not key_path.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Readable by its owner only, from the moment it exists.
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        public |= {"kid": f"dev-{secrets.token_hex(4)}", "alg": "ES256", "use": "sig"}
        key_set_path.write_text(json.dumps({"keys": [public]}, indent=2) + "\n")
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SystemExit(f"{key_path} is not an EC key: remove {directory} to make a new one")
    kid: str = json.loads(key_set_path.read_text())["keys"][0]["kid"]
    return key, kid


def token(scopes: list[str], directory: Path) -> str:
    key, kid = signing_key(directory)
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": os.environ.get("USER", "developer"),
        "azp": "just-token",
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + LIFETIME_S,
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})


def environment(directory: Path) -> str:
    signing_key(directory)
    settings = {
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "AUTH_JWKS_URL": (directory / KEY_SET_FILE).resolve().as_uri(),
    }
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in settings.items())


def main(arguments: list[str]) -> int:
    directory = key_directory()
    if arguments == ["--environment"]:
        print(environment(directory))
        return 0
    if any(argument.startswith("-") or not argument.isprintable() or " " in argument for argument in arguments):
        print(__doc__, file=sys.stderr)
        return 2
    print(token(arguments, directory))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
