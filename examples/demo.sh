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

# The emulator token is as fake as the Mistral key below. kvsync.sum, the
# record of the secret values written, goes to the scratch directory.
export KVSYNC_KONNECT_TOKEN=kpat_demo_fake_token_0000
export MISTRAL_API_KEY=demo-fake-mistral-key
export KVSYNC_SUM="$work/kvsync.sum"

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

step "Rotate the Mistral key: diff --exit-code exits 2 naming the secret"
old_key=$MISTRAL_API_KEY
export MISTRAL_API_KEY=demo-fake-mistral-key-rotated
expect 2 "$KVSYNC" diff --exit-code "$FILE"
grep -q '^~ update secret my-config-store/mistral-key (value changed)$' "$work/step.log" || fail "the rotated key is not in the plan"
grep -q '^Plan: 0 to create, 1 to update, 0 to delete.$' "$work/step.log" || fail "the rotation plans more than the secret"

step "kvsync sync writes that secret alone, then diff --exit-code exits 0"
expect 0 "$KVSYNC" sync "$FILE"
grep -q '^Sync: 1 succeeded, 0 failed, 0 skipped, 0 not started.$' "$work/step.log" || fail "sync wrote more than the secret"
expect 0 "$KVSYNC" diff --exit-code "$FILE"

step "kvsync.sum records what was written: fingerprints, never the value"
cat "$KVSYNC_SUM"
for key in "$old_key" "$MISTRAL_API_KEY"; do
  if grep -qF "$key" "$work/all.log" "$KVSYNC_SUM"; then
    fail "a secret value appeared in kvsync's output or in kvsync.sum"
  fi
done
step "Done: the tutorial ran the kvsync way, and the secret value never showed"
