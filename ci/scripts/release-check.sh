#!/usr/bin/env bash
# `just release-check [TAG]`: a release tag must be v + the version in pyproject.toml, and CHANGELOG.md must have
# that version's entry with its Upgrading note (what a team must do by hand to take it).
set -euo pipefail
read -ra uv <<< "${UV:-uv}"
tag=$1
version=$("${uv[@]}" version --short)
if [ "$tag" != "v$version" ]; then
    echo "The tag '$tag' does not match the project's version: expected v$version (pyproject.toml)" >&2
    exit 1
fi
# The lines from "## [VERSION]" to the next release's heading.
entry=$(awk -v heading="## [$version]" '/^## \[/ { inside = index($0, heading) == 1 } inside' CHANGELOG.md)
if [ -z "$entry" ]; then
    echo "CHANGELOG.md has no entry for $version: rename [Unreleased] to '## [$version] - $(date -u +%F)'" >&2
    exit 1
fi
if ! grep -q '^### Upgrading$' <<< "$entry"; then
    echo "CHANGELOG.md's entry for $version has no '### Upgrading' note: say what a team must do by hand" >&2
    echo "(a migration, a renamed setting, a changed default), or that there is nothing to do" >&2
    exit 1
fi
echo "The tag $tag matches the project's version $version, and CHANGELOG.md has its entry"
