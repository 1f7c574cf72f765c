#!/usr/bin/env bash
# `just publish-release [TAG]`: the GitHub release of a tag, with generated notes, the pull command, the SBOM.
set -euo pipefail
tag=$1
version="${tag#v}"
notes=$(mktemp)
trap 'rm -f "$notes"' EXIT
# shellcheck disable=SC2016 # the backticks are Markdown's code fence, not a command
printf 'Pull the image:\n\n```sh\ndocker pull %s:%s\n```\n' "$IMAGE_NAME" "$version" > "$notes"
prerelease=()
if [[ "$version" == *-* ]]; then prerelease=(--prerelease); fi
gh release create "$tag" --title "$tag" --verify-tag --generate-notes --notes-file "$notes" "${prerelease[@]}" \
    sbom.cdx.json
