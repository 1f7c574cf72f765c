#!/usr/bin/env bash
# `just sbom` and `just audit`: the locked runtime dependencies (uv export), then either a CycloneDX SBOM
# (sbom.cdx.json, offline) or pip-audit, strict: a vulnerability source that cannot be reached is a failure,
# not "no known vulnerabilities".
set -euo pipefail
read -ra run <<< "${RUN:-uv run --locked}"
read -ra uv <<< "${UV:-uv}"
requirements=$(mktemp)
trap 'rm -f "$requirements"' EXIT
case "$1" in
    sbom)
        "${uv[@]}" export --locked --no-dev --no-emit-project --no-hashes --format requirements-txt --quiet \
            --output-file "$requirements"
        # An environment of its own (pyproject.toml's sbom-tools says why), kept between runs like .venv-deploy.
        env -u VIRTUAL_ENV UV_PROJECT_ENVIRONMENT=.venv-sbom "${run[@]}" --only-group sbom-tools \
            cyclonedx-py requirements --output-format JSON --output-file sbom.cdx.json "$requirements"
        echo "Wrote sbom.cdx.json"
        ;;
    audit)
        "${uv[@]}" export --locked --no-dev --no-emit-project --format requirements-txt --quiet \
            --output-file "$requirements"
        "${run[@]}" pip-audit --strict --disable-pip --requirement "$requirements"
        ;;
esac
