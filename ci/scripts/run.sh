#!/usr/bin/env bash
# `just run`: the service as in production. Stopped by Ctrl-C or SIGTERM, the service exits 0, and just would then
# print a text line of its own ("error: interrupted by SIGTERM"); answering with the conventional 130 or 143 keeps
# every line JSON. Ctrl-C reaches the service from the terminal; a SIGTERM may have been sent to just alone. More
# signals follow (uv and just forward theirs), and each cuts a `wait` short: wait until the service is gone.
set -euo pipefail
read -ra run <<< "${RUN:-uv run --locked}"
"${run[@]}" python -m app &
service=$!
stop() {
    # A no-op, not "": a signal already pending when the trap changed would find it ignored, and bash would print
    # "run_pending_traps: bad value in trap_list[15]", a line that is not JSON (seen once in 20 runs of just check).
    trap : INT TERM
    if [ "$1" = 143 ]; then kill -TERM "$service" 2>/dev/null || true; fi
    while kill -0 "$service" 2>/dev/null; do wait "$service" || true; done
    exit "$1"
}
trap 'stop 143' TERM
trap 'stop 130' INT
wait $service
