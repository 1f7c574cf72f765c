#!/usr/bin/env bash
# `just image-test`: build the image (on a local Debian base where the default base cannot be pulled) and prove it
# by running it (ci/image_check.py).
set -euo pipefail
read -ra run <<< "${RUN:-uv run --locked}"
read -ra uv <<< "${UV:-uv}"
base=()
if ! "$ENGINE" image inspect "$DEFAULT_BASE" >/dev/null 2>&1 \
    && ! "$ENGINE" pull --quiet "$DEFAULT_BASE" >/dev/null 2>&1; then
    echo "$DEFAULT_BASE cannot be pulled here: building on $LOCAL_BASE"
    "$ENGINE" image inspect "$LOCAL_BASE" >/dev/null 2>&1 || "$JUST" base-image
    base=(--build-arg "BASE_IMAGE=$LOCAL_BASE")
fi
"$JUST" image "${base[@]}"
"${run[@]}" python ci/image_check.py "$IMAGE_NAME:$("${uv[@]}" version --short)" "$ENGINE"
