#!/usr/bin/env bash
# The seed tutorial (Mistral AI Proxy with its API key in a Konnect Config
# Store behind a vault), the kvsync way, against the embedded Konnect
# emulator. `make demo` builds bin/kvsync and bin/konnect-emulator first.
#
# It needs bash and the two binaries; no TTY, no network beyond loopback.
# The emulator starts with --preload tutorial: the tutorial's control plane,
# example-service and example-route are there from the start. Every step checks its exit status and the script stops loudly on
# the first surprise.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
KVSYNC="$BIN/kvsync"
EMULATOR="$BIN/konnect-emulator"
FILE=examples/mistral-ai-proxy/kvsync.yaml

for b in "$KVSYNC" "$EMULATOR"; do
  [[ -x $b ]] || { echo "demo: $b is missing; run 'make demo' (it builds it)" >&2; exit 1; }
done

work=$(mktemp -d)
emulator_pid=""
cleanup() {
  if [[ -n $emulator_pid ]]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" | { [[ -t 1 && -z ${NO_COLOR:-} ]] && cat || sed 's/\x1b\[[0-9;]*m//g'; }; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

# expect CODE COMMAND...: runs the command, shows its output (kept for the
# final check) and fails unless it exits CODE.
expect() {
  local want=$1; shift
  local got=0
  "$@" >"$work/step.log" 2>&1 || got=$?
  cat "$work/step.log" | tee -a "$work/all.log"
  [[ $got == "$want" ]] || fail "'$*' exited $got, expected $want"
}

# The emulator token is as fake as the Mistral key below.
export KVSYNC_KONNECT_TOKEN=kpat_demo_fake_token_0000
export MISTRAL_API_KEY=demo-fake-mistral-key

step "Starting the Konnect emulator on a free loopback port, preloaded with the tutorial's gateway entities"
mkfifo "$work/out"
"$EMULATOR" --listen 127.0.0.1:0 --token "$KVSYNC_KONNECT_TOKEN" --preload tutorial >"$work/out" 2>"$work/emulator.log" &
emulator_pid=$!
exec 3<"$work/out"
if ! read -r -t 30 first <&3; then
  fail "the emulator did not start: $(cat "$work/emulator.log")"
fi
# Keep draining its standard output so that it never blocks on a full pipe.
cat <&3 >/dev/null &
[[ $first == "listening on http://"* ]] || fail "unexpected first line from the emulator: $first"
export KVSYNC_KONNECT_ADDR=${first#listening on }
echo "emulator at $KVSYNC_KONNECT_ADDR"

echo "control plane my-control-plane with example-service and example-route (--preload tutorial)"

step "kvsync diff: the plan from an empty control plane"
expect 0 "$KVSYNC" diff "$FILE"

step "kvsync sync: config store, secret, vault and plugin, in dependency order"
expect 0 "$KVSYNC" sync "$FILE"

step "kvsync diff --exit-code: in sync (exit 0)"
expect 0 "$KVSYNC" diff --exit-code "$FILE"

step "An edit (mistral-tiny -> mistral-small) shows as drift: diff --exit-code exits 2"
sed 's/mistral-tiny/mistral-small/' "$FILE" >"$work/kvsync.yaml"
grep -q mistral-small "$work/kvsync.yaml" || fail "the edit did not apply"
expect 2 "$KVSYNC" diff --exit-code "$work/kvsync.yaml"

if grep -qF "$MISTRAL_API_KEY" "$work/all.log"; then
  fail "the secret value appeared in kvsync's output"
fi
step "Done: the tutorial ran the kvsync way, and the secret value never showed"
