# The single command surface: developers, .ci/run and the workflows in ci/ all call these recipes.
set shell := ["bash", "-euo", "pipefail", "-c"]

# uv sets UV to its own path inside `uv run`, so recipes work when uv itself is not on PATH.
uv := env("UV", "uv")
run := uv + " run --locked"

# Container images: podman or docker, whichever is installed (CONTAINER_ENGINE overrides).
engine := env("CONTAINER_ENGINE", `command -v podman >/dev/null 2>&1 && echo podman || echo docker`)
image_name := env("IMAGE", "ghcr.io/example-org/items-service")
default_base := "docker.io/library/python:3.11-slim-bookworm"
local_base := "localhost/python-base:3.11-bookworm"
# The host's CA bundle, passed to builds as a secret where PyPI is reached through a TLS-inspecting proxy.
ca_bundle := env("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")

# List the recipes
default:
    @just --list --unsorted

# Install the locked environment (runtime and dev tools) into .venv
sync:
    {{uv}} sync --locked

# Run the service as in production: JSON logs, HOST:PORT and every variable in the README honoured
run:
    {{run}} python -m app

# Run the service with auto-reload and readable coloured logs, for local work
dev:
    LOG_FORMAT="${LOG_FORMAT:-console}" {{run}} python -m app --reload

# Format the code and apply safe lint fixes
fmt:
    {{run}} ruff format .
    {{run}} ruff check --fix .

# Lint and check formatting (ruff), and the Containerfile (hadolint)
lint:
    {{run}} ruff check .
    {{run}} ruff format --check .
    {{run}} hadolint Containerfile

# Type-check in pyright's strict mode
typecheck:
    {{run}} pyright

# Run the tests with branch coverage of app/ (100% required); arguments go to pytest
test *pytest_args:
    {{run}} coverage erase
    {{run}} coverage run -m pytest {{pytest_args}}
    {{run}} coverage combine --quiet
    {{run}} coverage report

# Everything a change must pass before it is pushed
check: lint typecheck test

# Build the image, tagged IMAGE:VERSION and IMAGE:sha-COMMIT; extra arguments go to the build
image *build_args:
    #!/usr/bin/env bash
    set -euo pipefail
    version=$({{uv}} version --short)
    revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    options=(--file Containerfile --tag "{{image_name}}:$version" --tag "{{image_name}}:sha-${revision:0:7}")
    options+=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
    # podman and buildah drop HEALTHCHECK from OCI-format images.
    if [ "{{engine}}" = podman ]; then options+=(--format docker); fi
    if [ -f "{{ca_bundle}}" ]; then options+=(--secret "id=ca-certificates,src={{ca_bundle}}"); fi
    {{engine}} build "${options[@]}" {{build_args}} .
    echo "Built {{image_name}}:$version and {{image_name}}:sha-${revision:0:7}"

# Build a local Python base image from Debian's packages, for machines without a container registry
base-image tag=local_base:
    #!/usr/bin/env bash
    set -euo pipefail
    command -v mmdebstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq mmdebstrap; }
    archive=$(mktemp --suffix=.tar)
    trap 'rm -f "$archive"' EXIT
    mmdebstrap --quiet --variant=minbase \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --include=python3,python3-venv,python-is-python3,ca-certificates \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
        bookworm "$archive" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main"
    {{engine}} import --change 'CMD ["python3"]' "$archive" "{{tag}}"
    echo "Imported {{tag}}"

# Smoke-test a running instance over HTTP (health, an item's life, calculate, a 4xx)
smoke url="http://127.0.0.1:8000":
    {{run}} python tests/delivery/smoke.py {{url}}

# Build the image and prove it by running it (read-only root, health, smoke, uid, restart, SIGTERM)
image-test:
    #!/usr/bin/env bash
    set -euo pipefail
    base=()
    if ! {{engine}} image inspect "{{default_base}}" >/dev/null 2>&1 && ! {{engine}} pull --quiet "{{default_base}}" >/dev/null 2>&1; then
        echo "{{default_base}} cannot be pulled here: building on {{local_base}}"
        {{engine}} image inspect "{{local_base}}" >/dev/null 2>&1 || {{just_executable()}} base-image
        base=(--build-arg "BASE_IMAGE={{local_base}}")
    fi
    {{just_executable()}} image "${base[@]}"
    {{run}} python tests/delivery/image_check.py "{{image_name}}:$({{uv}} version --short)" {{engine}}
