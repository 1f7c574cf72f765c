#!/usr/bin/env bash
# `just fuzz [EXAMPLES]`: property-based tests of the API from its own OpenAPI document (schemathesis, every
# check, valid and invalid inputs), twice: against the service open (no issuer, the old demo's contract), then
# checking tokens (the development key of `just token`; schemathesis sends a token granting every scope, and its
# ignored_auth check sends none). Any error the service logs meanwhile fails the run.
set -euo pipefail
examples=${1:-300}
read -ra run <<< "${RUN:-uv run --locked}"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

fuzz() {  # NAME [SCHEMATHESIS OPTIONS...]: one service, fuzzed, then stopped
    local name=$1 port service status=0
    shift
    port=$("${run[@]}" python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    DATABASE_URL="sqlite:///$workdir/$name.db" PORT=$port ACCESS_LOG=false "${run[@]}" python -m app \
        > "$workdir/$name.log" 2>&1 &
    service=$!
    until PORT=$port "${run[@]}" python -m app.probe; do
        kill -0 $service 2>/dev/null || { cat "$workdir/$name.log"; return 1; }
        sleep 0.2
    done
    echo "Fuzzing the service $name"
    "${run[@]}" schemathesis --config-file ci/schemathesis.toml run "http://127.0.0.1:$port/schema/openapi.json" \
        --checks all --mode all --max-examples "$examples" --seed 20261126 --no-color "$@" || status=$?
    kill -TERM $service
    wait $service || true
    if grep -q '"level":"error"' "$workdir/$name.log"; then
        echo "The service logged errors while fuzzed:"
        grep '"level":"error"' "$workdir/$name.log"
        status=1
    fi
    return $status
}

fuzz open
export DEV_AUTH_DIR="$workdir/dev-auth"
eval "$("${run[@]}" python ci/dev_token.py --environment)"
token=$("${run[@]}" python ci/dev_token.py items:read items:write calculate)
fuzz "checking tokens" --header "Authorization: Bearer $token"
