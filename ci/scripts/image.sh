#!/usr/bin/env bash
# `just image [BUILD ARGS]`: build the image, tagged IMAGE_NAME:VERSION and IMAGE_NAME:sha-COMMIT.
set -euo pipefail
read -ra uv <<< "${UV:-uv}"
version=$("${uv[@]}" version --short)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
options=(--file Containerfile --tag "$IMAGE_NAME:$version" --tag "$IMAGE_NAME:sha-${revision:0:7}")
options+=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision")
options+=(--build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
# podman and buildah drop HEALTHCHECK from OCI-format images.
if [ "$ENGINE" = podman ]; then options+=(--format docker); fi
# The host's CA bundle, as a build secret, where PyPI is reached through a TLS-inspecting proxy.
if [ -f "$CA_BUNDLE_FILE" ]; then options+=(--secret "id=ca-certificates,src=$CA_BUNDLE_FILE"); fi
"$ENGINE" build "${options[@]}" "$@" .
echo "Built $IMAGE_NAME:$version and $IMAGE_NAME:sha-${revision:0:7}"
