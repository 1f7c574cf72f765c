#!/usr/bin/env bash
# `just release-check [TAG]`: a release tag must be v + the version in pyproject.toml.
set -euo pipefail
read -ra uv <<< "${UV:-uv}"
tag=$1
version=$("${uv[@]}" version --short)
if [ "$tag" != "v$version" ]; then
    echo "The tag '$tag' does not match the project's version: expected v$version (pyproject.toml)" >&2
    exit 1
fi
echo "The tag $tag matches the project's version $version"
