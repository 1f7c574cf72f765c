#!/usr/bin/env bash
# `just push [TAGS]`: tag the built image as sha-COMMIT and each TAG, push them, and report the digest (to
# GITHUB_OUTPUT too, where the workflow gives one).
set -euo pipefail
read -ra uv <<< "${UV:-uv}"
source="$IMAGE_NAME:$("${uv[@]}" version --short)"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
declare -A pushed=()
digest=""
for tag in "sha-$(git rev-parse --short=7 HEAD)" "$@"; do
    [ -z "${pushed[$tag]:-}" ] || continue
    pushed[$tag]=1
    "$ENGINE" tag "$source" "$IMAGE_NAME:$tag"
    if [ "$ENGINE" = podman ]; then
        "$ENGINE" push --digestfile "$workdir/digest" "$IMAGE_NAME:$tag"
        digest=$(cat "$workdir/digest")
    else
        "$ENGINE" push "$IMAGE_NAME:$tag"
        digest=$("$ENGINE" image inspect --format '{{index .RepoDigests 0}}' "$IMAGE_NAME:$tag")
        digest=${digest#*@}
    fi
    echo "Pushed $IMAGE_NAME:$tag ($digest)"
done
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'image=%s\ndigest=%s\n' "$IMAGE_NAME" "$digest" >> "$GITHUB_OUTPUT"
fi
