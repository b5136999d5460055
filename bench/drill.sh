#!/usr/bin/env bash
# Benchmark a drill's restore, the product's RTO, against a plain local-disk restore in one
# run: a full `firedrill drill run` of the benchmark snapshot from an S3 replica (SeaweedFS on
# loopback) beside `firedrill restore latest` of the same snapshot from a repository on local
# disk. Target: the drill takes no more than 1.5× the local restore.
# See the "Drill" section of bench/README.md for what is measured and how to read it.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash bench/drill.sh [options]
  --size SIZE        dataset size for gen_dataset.py (default 1G)
  --seed N           dataset seed (default 42)
  --work DIR         scratch dir (default /tmp/firedrill-bench-drill)
  --firedrill PATH   use this binary instead of `cargo build --release`
  --shared DIR       dir holding bench/gen_dataset.py (default: ../shared from the crate root)
  --runs N           measurements of each kind, the two taking turns; the median counts (default 3)
  --port-base B      ports of the private object-store stack: B+1..B+14, B+21..B+34,
                     B+40 and B+41 on 127.0.0.1 (default 18500)
  --keep             keep dataset, repository, logs, drill reports and the stack's data
EOF
}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

SIZE=1G
SEED=42
WORK=/tmp/firedrill-bench-drill
FIREDRILL=
SHARED=$ROOT/../shared
RUNS=3
PORT_BASE=18500
KEEP=0
# The target: drill wall time ÷ local restore wall time.
TARGET_RATIO=1.5

# shellcheck source=bench/stack-options.sh
source "$BENCH_DIR/stack-options.sh"

# The two measurements, in the order of the first run; each later run starts with the
# other one, so each goes first equally often (when --runs is even).
KINDS=(drill local)

# ------------------------------------------------------------------ python helpers
PYHELPER=$(cat <<'PYEOF'
import json, os, statistics, sys, time

MiB = 1 << 20

def parse_time(path):
    # /usr/bin/time -f '%e %M': wall seconds and max RSS in KiB, on the last line
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    wall, rss = lines[-1].split()
    return float(wall), int(rss)

def fmt_s(x):
    return "%.2f s" % x if x < 10 else "%.1f s" % x

def check(kind, out_path, stats_path, replica):
    # The restored files and bytes must be the dataset's, with nothing damaged; a drill
    # must also say PASS for a full restore from the replica. Prints the facts recorded.
    st = json.load(open(stats_path))
    rep = json.load(open(out_path))
    problems = []
    if kind == "drill":
        if rep.get("verdict") != "PASS":
            problems.append("verdict %s: %s" % (rep.get("verdict"), rep.get("summary")))
            problems.extend(rep.get("errors") or [])
            problems.extend("check failed: %s (%s)" % (c["name"], c["evidence"])
                            for c in rep.get("checks") or [] if not c.get("passed"))
        if (rep.get("source") or {}).get("store") != replica:
            problems.append("restored from %r, not %r" % ((rep.get("source") or {}).get("store"), replica))
        if (rep.get("scope") or {}).get("kind") != "all":
            problems.append("scope %r, not all" % (rep.get("scope") or {}).get("kind"))
        restored = rep.get("restore") or {}
    else:
        restored = rep
    files, nbytes = restored.get("files_restored"), restored.get("bytes_restored")
    if files != st["files"] or nbytes != st["bytes"]:
        problems.append("restored %s files, %s bytes; the dataset has %d files, %d bytes"
                        % (files, nbytes, st["files"], st["bytes"]))
    if restored.get("damaged"):
        problems.append("damaged: %s" % restored["damaged"][:5])
    if restored.get("files_verified") != files:
        problems.append("%s of %s files verified" % (restored.get("files_verified"), files))
    if problems:
        sys.exit("%s: %s" % (kind, "; ".join(str(p) for p in problems)))
    out = {"files_restored": files, "bytes_restored": nbytes,
           "bytes_fetched": restored.get("bytes_fetched")}
    if kind == "drill":
        out["verdict"] = rep["verdict"]
        out["firedrill_s"] = rep["rto"]["measured"]
        out["phases"] = {p["name"]: round(p["seconds"], 3) for p in rep.get("phases") or []}
    else:
        out["firedrill_s"] = rep["timings"]["total_secs"]
    print(json.dumps(out))

LABELS = {
    "drill": "drill, full restore from the S3 replica",
    "local": "restore from the repository on local disk",
}

def report(work, results_json, results_md, target):
    target = float(target)
    logs = os.path.join(work, "logs")
    meta = json.load(open(os.path.join(logs, "meta.json")))
    recs = [json.loads(l) for l in open(os.path.join(logs, "records.jsonl"))]
    ds_bytes = meta["dataset"]["bytes"]
    kinds = {}
    for k in meta["kinds"]:
        runs = sorted((r for r in recs if r["kind"] == k), key=lambda r: r["run"])
        med = statistics.median(r["wall_s"] for r in runs)
        kinds[k] = {
            "label": LABELS[k],
            "runs": runs,
            "median_s": med,
            "median_firedrill_s": statistics.median(r["firedrill_s"] for r in runs),
            "MiBps": ds_bytes / MiB / med if med > 0 else float("inf"),
            "peak_rss_MiB": max(r["max_rss_kib"] for r in runs) / 1024,
        }
    d, l = kinds["drill"], kinds["local"]
    # Where the drill's time goes: its report's phases; the rest of `rto.measured` (deleting
    # the scratch restore); and the wall time outside it (start, stores, plan, report).
    names = []
    for r in d["runs"]:
        names += [n for n in r["phases"] if n not in names]
    split = {n: statistics.median(r["phases"].get(n, 0.0) for r in d["runs"]) for n in names}
    split["rest of rto.measured (mostly deleting the scratch restore)"] = statistics.median(
        r["firedrill_s"] - sum(r["phases"].values()) for r in d["runs"])
    split["outside rto.measured (start, stores, plan check, report)"] = statistics.median(
        r["wall_s"] - r["firedrill_s"] for r in d["runs"])
    d["median_split_s"] = split
    ratio = d["median_s"] / l["median_s"] if l["median_s"] > 0 else float("inf")
    own_ratio = (d["median_firedrill_s"] / l["median_firedrill_s"]
                 if l["median_firedrill_s"] > 0 else float("inf"))
    out = {"config": meta, "kinds": kinds,
           "ratio_drill_over_local": ratio,
           "ratio_drill_over_local_firedrill_time": own_ratio,
           "target_ratio": target, "target_met": ratio <= target}

    header = ["measurement", "median wall time", "firedrill's own time (median)", "MiB/s",
              "peak RSS MiB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for k, s in kinds.items():
        lines.append("| %s | %s | %s | %.0f | %.0f |" % (
            s["label"], fmt_s(s["median_s"]), fmt_s(s["median_firedrill_s"]),
            s["MiBps"], s["peak_rss_MiB"]))
    lines.append("| **drill ÷ local** (target ≤ %.1f×) | **%.2f×** (%s) | %.2f× | | |" % (
        target, ratio, "met" if ratio <= target else "NOT met", own_ratio))
    ds, repo, v = meta["dataset"], meta["repository"], meta["versions"]
    head = [
        "# firedrill drill benchmark",
        "",
        "Snapshot: `gen_dataset.py gen --size %s --seed %s` (%d files, %.1f MiB) backed up once by "
        "firedrill into a repository on local disk (%d files, %.1f MiB), replicated by "
        "`firedrill replicate` to SeaweedFS instance 2 (replica `%s`, `%s`). Each of %d run(s) "
        "restored it once each way, taking turns. Versions: firedrill %s, SeaweedFS %s. "
        "Machine: %s CPUs, %s."
        % (meta["size"], meta["seed"], ds["files"], ds["bytes"] / MiB, repo["files"],
           repo["bytes"] / MiB, meta["replica"]["name"], meta["replica"]["location"], meta["runs"], v["firedrill"], v["seaweedfs"],
           meta["nproc"], meta["date"]),
        "",
    ]
    foot = [
        "",
        "Wall time: process start to exit under `/usr/bin/time`, median of the runs (%s). "
        "The drill's includes opening both stores, the restore with its BLAKE3 checks, "
        "deleting the scratch restore, and storing its report; the local restore's target "
        "is deleted outside the timing (median %s). firedrill's own time: the drill report's "
        "`rto.measured` (its end-to-end RTO) and the restore's `timings.total_secs`. MiB/s: dataset bytes ÷ median wall time. "
        "Peak RSS: the highest of the runs. Every drill said PASS and every restore brought "
        "back all %d files and bytes of the dataset, each checked."
        % ("; ".join("%s: %s" % (k, ", ".join("%.2f" % r["wall_s"] for r in kinds[k]["runs"]))
                     for k in kinds),
           fmt_s(statistics.median(r["delete_s"] for r in l["runs"])), ds["files"]),
    ]
    foot += [
        "",
        "Drill time by phase (medians; the phases are its report's): %s." % ", ".join(
            "%s %.2f s" % (n, x) for n, x in split.items() if x >= 0.005),
    ]
    md = "\n".join(head + lines + foot) + "\n"
    with open(results_md, "w") as f:
        f.write(md)
    with open(results_json, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    sys.stdout.write(md)

cmd = sys.argv[1]
if cmd == "check":
    # check KIND OUTPUT_JSON STATS_JSON REPLICA_NAME
    check(*sys.argv[2:6])
elif cmd == "record":
    # record KIND RUN POSITION TIMEFILE CHECK_JSON [DELETE_SECONDS]
    kind, run, pos, timef, facts = sys.argv[2:7]
    wall, rss = parse_time(timef)
    rec = {"kind": kind, "run": int(run), "position": int(pos), "wall_s": wall, "max_rss_kib": rss}
    rec.update(json.loads(facts))
    if len(sys.argv) > 7:
        rec["delete_s"] = float(sys.argv[7])
    print(json.dumps(rec))
elif cmd == "check-replicate":
    # exit 1 unless every replica in the report is complete
    rep = json.load(open(sys.argv[2]))
    bad = [r for r in rep["replicas"] if r.get("status") != "complete"]
    if bad or not rep["replicas"]:
        sys.exit("replicate did not complete: %s" % json.dumps(rep["replicas"]))
    print("   replicated in %.1f s: %s" % (rep["seconds"], ", ".join(
        "%s %s objects, %s bytes" % (r["name"], r.get("objects_copied"), r.get("bytes_copied"))
        for r in rep["replicas"])), file=sys.stderr)
elif cmd == "meta":
    out, size, seed, runs, stats, repo_files, repo_bytes, replica, location, fd_v, sw_v = sys.argv[2:13]
    st = json.load(open(stats))
    meta = {"size": size, "seed": int(seed), "runs": int(runs), "kinds": sys.argv[13:],
            "dataset": {"files": st["files"], "bytes": st["bytes"]},
            "repository": {"files": int(repo_files), "bytes": int(repo_bytes)},
            "replica": {"name": replica, "location": location},
            "versions": {"firedrill": fd_v, "seaweedfs": sw_v},
            "nproc": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    with open(out, "w") as f:
        json.dump(meta, f, indent=1)
elif cmd == "get":
    v = json.load(sys.stdin)
    for k in sys.argv[2:]:
        v = v[k]
    print(v)
elif cmd == "report":
    report(*sys.argv[2:6])
else:
    sys.exit("unknown helper command " + cmd)
PYEOF
)
py() { python3 -c "$PYHELPER" "$@"; }

# ------------------------------------------------------------------ work dir
# shellcheck source=bench/workdir.sh
source "$BENCH_DIR/workdir.sh"
claim_work_dir .firedrill-bench-drill
DATA=$WORK/data
LOGS=$WORK/logs
CONF=$WORK/conf
REPO=$WORK/repo
REPORTS=$WORK/reports
# Both restores write below the work dir, so they land on the same filesystem.
SCRATCH=$WORK/scratch
# The object-store stack is private to the benchmark: its own state dir and ports, so a
# user's stack (infra/local/up with the default state dir and ports) is never touched.
STACK=$WORK/stack
[[ ! -e $STACK/stack.env ]] || FIREDRILL_LOCAL_DIR=$STACK "$ROOT/infra/local/down" >/dev/null 2>&1 || true
# Everything the script makes; restore-N are the local restores' targets.
scrub() {
    rm -rf "$DATA" "$LOGS" "$CONF" "$REPO" "$REPORTS" "$SCRATCH" "$STACK" \
        "$WORK/cache" "$WORK/config" "$WORK/state"
    local d
    for d in "$WORK"/restore-*; do
        [[ ! -e $d ]] || rm -rf "$d"
    done
}
scrub
rm -f "$WORK/results.md" "$WORK/results.json"
mkdir -p "$LOGS" "$CONF" "$SCRATCH"
RECORDS=$LOGS/records.jsonl
: >"$RECORDS"

STACK_STARTED=0
cleanup() {
    local rc=$?
    trap - INT TERM
    if [[ $STACK_STARTED == 1 ]]; then
        local down_args=(--purge)
        [[ $KEEP == 1 ]] && down_args=()
        FIREDRILL_LOCAL_DIR=$STACK "$ROOT/infra/local/down" "${down_args[@]}" >"$WORK/down.log" 2>&1 ||
            { echo "infra/local/down failed:" >&2; cat "$WORK/down.log" >&2; }
        rm -f "$WORK/down.log"
    fi
    if [[ $KEEP == 1 ]]; then
        echo "work dir kept: $WORK (stack stopped; its data is in $STACK)" >&2
    else
        # results.* survive so a finished run can still be read after cleanup
        scrub
        # the marker stays with the results so the next run may reuse the dir
        [[ $rc == 0 ]] || rm -f "$WORK/results.md" "$WORK/results.json" "$WORK/$MARKER"
        rmdir "$WORK" 2>/dev/null || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ environment
# Nothing from the caller's shell steers firedrill: no repository, config or key file, no
# user stack (a sourced stack.env); reports and state stay in the work dir.
while IFS= read -r v; do
    case $v in FIREDRILL_*) unset "$v" ;; esac
done < <(compgen -e)
export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY} no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
export XDG_CACHE_HOME=$WORK/cache XDG_CONFIG_HOME=$WORK/config XDG_STATE_HOME=$WORK/state
mkdir -p "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
export FIREDRILL_PASSWORD=bench-password

# ------------------------------------------------------------------ dependencies
missing=()
[[ -x /usr/bin/time ]] || missing+=(time)
command -v curl >/dev/null || missing+=(curl)
command -v openssl >/dev/null || missing+=(openssl)
if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    SUDO=
    [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null || die "python3 is required"
# SeaweedFS (pinned; quiet when already there)
"$ROOT/infra/local/install" >"$LOGS/install.log" 2>&1 || { cat "$LOGS/install.log" >&2; die "infra/local/install failed"; }
WEED=$(sed -n 's/^weed: //p' "$LOGS/install.log")

if [[ -z $FIREDRILL ]]; then
    log "building firedrill (release)"
    (cd "$ROOT" && cargo build --release)
    target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | py get target_directory)
    FIREDRILL=$target_dir/release/firedrill
fi
[[ -x $FIREDRILL ]] || die "firedrill binary not found or not executable: $FIREDRILL"
FIREDRILL=$(cd "$(dirname "$FIREDRILL")" && pwd)/$(basename "$FIREDRILL")
for sub in drill replicate; do
    "$FIREDRILL" "$sub" --help >/dev/null 2>&1 || die "$FIREDRILL has no $sub command (an old build?)"
done

# ------------------------------------------------------------------ dataset and repository
log "generating dataset ($SIZE, seed $SEED) in $DATA"
python3 "$GEN" gen "$DATA" --size "$SIZE" --seed "$SEED" >"$LOGS/gen.json"
python3 "$GEN" stats "$DATA" >"$LOGS/stats.json"

log "firedrill init + backup into a repository on local disk ($REPO)"
for step in init backup; do
    args=(init --kdf-memory-mib 8 --kdf-iterations 1)
    [[ $step == backup ]] && args=(backup "$DATA")
    "$FIREDRILL" --repo "$REPO" "${args[@]}" >"$LOGS/$step.out" 2>"$LOGS/$step.err" ||
        { tail -n 100 "$LOGS/$step.err" >&2; die "firedrill $step failed"; }
done
# The dataset is not needed any more: its stats are what restores are checked against.
[[ $KEEP == 1 ]] || rm -rf "$DATA"
read -r REPO_FILES REPO_BYTES < <(find "$REPO" -type f -printf '%s\n' | awk '{n++; b+=$1} END {print n+0, b+0}')
printf '   repository: %d files, %d bytes\n' "$REPO_FILES" "$REPO_BYTES" >&2

# ------------------------------------------------------------------ stack and replica
log "starting a private object-store stack in $STACK (ports from $PORT_BASE)"
export FIREDRILL_LOCAL_DIR=$STACK
export FIREDRILL_LOCAL_EU_WEST_PORT_BASE=$PORT_BASE
export FIREDRILL_LOCAL_EU_CENTRAL_PORT_BASE=$((PORT_BASE + 20))
# `up` also starts the GCS emulator, which this benchmark does not use: keep it off port 80.
export FIREDRILL_LOCAL_GCS_HOST=127.0.0.1
export FIREDRILL_LOCAL_GCS_PORT=$((PORT_BASE + 40))
export FIREDRILL_LOCAL_GCS_HTTPS_PORT=$((PORT_BASE + 41))
STACK_STARTED=1
"$ROOT/infra/local/up" >"$LOGS/up.log" 2>&1 || { cat "$LOGS/up.log" >&2; die "infra/local/up failed (ports taken? try --port-base)"; }
# shellcheck source=/dev/null
. "$STACK/stack.env"

# The local repository is the primary; the replica is on SeaweedFS instance 2.
REPLICA=s3-replica
REPLICA_URL=$FIREDRILL_LOCAL_S3_EU_CENTRAL/$FIREDRILL_LOCAL_REPLICA_BUCKET/repo
CONFIG=$CONF/firedrill.toml
cat >"$CONFIG" <<EOF
[repository]
password_env = "FIREDRILL_PASSWORD"

[primary]
location = "$REPO"

[[replica]]
name = "$REPLICA"
location = "s3:$REPLICA_URL"
region = "eu-central"
credentials = { access_key_id_env = "FIREDRILL_LOCAL_S3_KEY", secret_access_key_env = "FIREDRILL_LOCAL_S3_SECRET" }

[reports]
dir = "$REPORTS"
EOF

log "firedrill replicate: $REPO -> $REPLICA (s3:$REPLICA_URL)"
"$FIREDRILL" --config "$CONFIG" --json replicate >"$LOGS/replicate.out" 2>"$LOGS/replicate.err" ||
    { tail -n 100 "$LOGS/replicate.err" >&2; die "firedrill replicate failed"; }
py check-replicate "$LOGS/replicate.out" || die "see $LOGS/replicate.out"

# A full drill (scope "all", latest snapshot, no targets) from the replica; its scratch
# restore goes below the work dir, like the local restore's target.
DRILL_FILE=$CONF/bench-full.toml
cat >"$DRILL_FILE" <<EOF
name = "bench-full"
description = "Benchmark: full restore of the latest snapshot from $REPLICA."

[source]
store = "$REPLICA"

[cleanup]
scratch_dir = "$SCRATCH"
EOF

# ------------------------------------------------------------------ measurement
# measure KIND RUN POSITION: one timed restore, checked, recorded; its files deleted.
measure() {
    local kind=$1 run=$2 pos=$3 rc=0 target='' cmd=()
    case $kind in
        drill)
            cmd=("$FIREDRILL" --config "$CONFIG" --json drill run "$DRILL_FILE") ;;
        local)
            target=$WORK/restore-$run
            cmd=("$FIREDRILL" --repo "$REPO" --json restore latest --target "$target") ;;
    esac
    local base=$LOGS/$kind-run$run
    # flush the previous restore's writes and deletes so they are not billed to this one
    sync
    echo "   run $run: $kind: ${cmd[*]}" >&2
    /usr/bin/time -f '%e %M' -o "$base.time" "${cmd[@]}" >"$base.out" 2>"$base.err" || rc=$?
    if [[ $rc != 0 ]]; then
        {
            printf '\nFAILED: %s run %s (exit %s): %s\n' "$kind" "$run" "$rc" "${cmd[*]}"
            echo "---- stderr ----"; tail -n 200 "$base.err"
            echo "---- stdout, last 60 lines ----"; tail -n 60 "$base.out"
        } >&2
        exit 1
    fi
    local facts
    facts=$(py check "$kind" "$base.out" "$LOGS/stats.json" "$REPLICA") || die "$kind run $run: see $base.out"
    local wall rss
    read -r wall rss <"$base.time"
    if [[ $kind == local ]]; then
        # deleting the target is not part of the restore
        local t0 t1
        t0=$(date +%s.%N)
        rm -rf "$target"
        t1=$(date +%s.%N)
        py record "$kind" "$run" "$pos" "$base.time" "$facts" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" >>"$RECORDS"
    else
        # the drill deletes its scratch restore itself; nothing may be left
        [[ -z $(ls -A "$SCRATCH") ]] || die "drill run $run left files in $SCRATCH"
        py record "$kind" "$run" "$pos" "$base.time" "$facts" >>"$RECORDS"
    fi
    printf '     %s s (firedrill: %s s), max RSS %s KiB\n' "$wall" "$(py get firedrill_s <<<"$facts")" "$rss" >&2
}

log "restoring: $RUNS run(s), taking turns: ${KINDS[*]}"
for run in $(seq 1 "$RUNS"); do
    for pos in 0 1; do
        measure "${KINDS[$(((run - 1 + pos) % 2))]}" "$run" $((pos + 1))
    done
done

fd_version=$("$FIREDRILL" --version 2>/dev/null | head -n 1 || echo unknown)
weed_version=$("${WEED:-weed}" version 2>/dev/null | awk '$1 == "version" {print $3; exit}')
py meta "$LOGS/meta.json" "$SIZE" "$SEED" "$RUNS" "$LOGS/stats.json" "$REPO_FILES" "$REPO_BYTES" \
    "$REPLICA" "s3:$REPLICA_URL" "${fd_version#firedrill }" "${weed_version:-unknown}" "${KINDS[@]}"

log "results ($WORK/results.md, $WORK/results.json)"
echo
py report "$WORK" "$WORK/results.json" "$WORK/results.md" "$TARGET_RATIO"
