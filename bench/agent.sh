#!/usr/bin/env bash
# The scheduler's own cost: `firedrill agent` runs a small backup job every 10 seconds
# for DURATION seconds; prints how late each run started against its slot (from the
# state file, sampled every 0.2 s), and the agent's peak RSS and CPU time (from /proc;
# the jobs are child processes and not counted).
#
# usage: bash bench/agent.sh [--firedrill BIN] [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."

bin=target/release/firedrill
seconds=65
while [ $# -gt 0 ]; do
    case "$1" in
        --firedrill) bin="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "agent.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ -x "$bin" ] || cargo build --release --quiet
bin="$(realpath "$bin")"

work="$(mktemp -d)"
trap 'kill "$agent" 2>/dev/null || true; rm -rf "$work"' EXIT
export FIREDRILL_PASSWORD=bench
mkdir -p "$work/data"
head -c 4000000 /dev/urandom > "$work/data/file"
"$bin" --repo "$work/repo" init --kdf-memory-mib 8 --kdf-iterations 1 > /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/firedrill.toml" <<TOML
[repository]
location = "repo"
password_env = "FIREDRILL_PASSWORD"
[agent]
listen = "127.0.0.1:$port"
state_dir = "state"
[[job]]
name = "backup"
command = ["backup", "$work/data"]
schedule = "*/10 * * * * *"
TOML

"$bin" --config "$work/firedrill.toml" agent 2> "$work/agent.log" &
agent=$!
python3 - "$work/state/agent-state.json" "$seconds" "$agent" <<'PY'
import json, sys, time
from datetime import datetime

path, seconds, pid = sys.argv[1], float(sys.argv[2]), sys.argv[3]

def ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

late, seen, end = [], set(), time.time() + seconds
while time.time() < end:
    try:
        job = json.load(open(path))["jobs"]["backup"]
    except (OSError, ValueError, KeyError):
        time.sleep(0.2)
        continue
    # A run in progress names its slot; a finished one has made it last_slot.
    slot = job.get("running_slot") if job.get("running") else job.get("last_slot")
    start = job.get("last_start")
    if slot and start and ts(start) >= ts(slot) and slot not in seen:
        seen.add(slot)
        late.append((ts(start) - ts(slot)) * 1000)
    time.sleep(0.2)
status = {}
for line in open(f"/proc/{pid}/status"):
    key, _, value = line.partition(":")
    status[key] = value.strip()
ticks = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
cpu = (int(ticks[11]) + int(ticks[12])) / 100
runs = json.load(open(path))["jobs"]["backup"].get("runs", {})
late.sort()
print(f"runs: {runs}")
if late:
    print(f"start after slot: median {late[len(late)//2]:.0f} ms, max {late[-1]:.0f} ms over {len(late)} runs")
print(f"agent peak RSS: {status['VmHWM']}, CPU: {cpu:.2f} s in {seconds:.0f} s")
PY
