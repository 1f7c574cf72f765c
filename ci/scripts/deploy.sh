#!/usr/bin/env bash
# `just deploy [ENVIRONMENT] [DIGEST]`: deploy an image, by DIGEST (pulled from the registry) or the locally built
# one when none is given. Staging is a container on this machine (the CD runner), on 127.0.0.1:8000, checking tokens
# from the identity provider that AUTH_ISSUER and AUTH_AUDIENCE name (the CD environment's variables): without them it
# refuses to start, as every deployment does, unless AUTH_DISABLED=true runs it open on purpose.
set -euo pipefail
read -ra run <<< "${RUN:-uv run --locked}"
read -ra uv <<< "${UV:-uv}"
environment=$1 digest=$2
if [ -n "$digest" ]; then
    reference="$IMAGE_NAME@$digest"
    "$ENGINE" pull --quiet "$reference"
else
    reference="$IMAGE_NAME:$("${uv[@]}" version --short)"
fi
case "$environment" in
    staging)
        access=()
        for setting in AUTH_ISSUER AUTH_AUDIENCE AUTH_JWKS_URL AUTH_DISABLED; do
            if [ -n "${!setting:-}" ]; then access+=(--env "$setting=${!setting}"); fi
        done
        "$ENGINE" rm --force "$STAGING" >/dev/null 2>&1 || true
        # shellcheck disable=SC2086 # CONTAINER_RUN_ARGS holds several options
        "$ENGINE" run --detach --name "$STAGING" --read-only --tmpfs /tmp --env ENVIRONMENT=staging "${access[@]}" \
            --publish 127.0.0.1:8000:8000 ${CONTAINER_RUN_ARGS:-} "$reference" >/dev/null
        for _ in $(seq 100); do
            if PORT=8000 "${run[@]}" python -m app.probe; then
                echo "Deployed $reference to staging: http://127.0.0.1:8000"
                exit 0
            fi
            if [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$STAGING")" != true ]; then break; fi
            sleep 0.2
        done
        "$ENGINE" logs "$STAGING"
        echo "The staging deployment did not become live" >&2
        exit 1
        ;;
    production)
        # ===== THE REAL PRODUCTION TARGET GOES HERE =====
        # Replace this branch with the rollout to your platform (kubectl apply -k ci/deploy/kubernetes/production
        # with the digest pinned, a Nomad job, a cloud run service...), deploying "$reference", and set DEPLOY_URL
        # for `just smoke`.
        echo "No production target is configured: edit the production branch of ci/scripts/deploy.sh." >&2
        exit 1
        ;;
    *)
        echo "Unknown environment '$environment': staging or production" >&2
        exit 2
        ;;
esac
