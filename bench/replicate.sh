#!/usr/bin/env bash
# Benchmark `firedrill replicate` against `rclone copy` in one run: the same firedrill
# repository copied from one SeaweedFS S3 instance to another by each tool.
# See the "Replication" section of bench/README.md for what is measured and how to read it.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash bench/replicate.sh [options]
  --size SIZE        dataset size for gen_dataset.py (default 1G)
  --seed N           dataset seed (default 42)
  --work DIR         scratch dir (default /tmp/firedrill-bench-replicate)
  --firedrill PATH   use this binary instead of `cargo build --release`
  --shared DIR       dir holding bench/gen_dataset.py (default: ../shared from the crate root)
  --runs N           copies per tool, the tools taking turns; the median counts (default 3)
  --port-base B      ports of the private object-store stack: B+1..B+14, B+21..B+34,
                     B+40 and B+41 on 127.0.0.1 (default 18400)
  --keep             keep dataset, logs and the stack's data in the work dir
EOF
}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

SIZE=1G
SEED=42
WORK=/tmp/firedrill-bench-replicate
FIREDRILL=
SHARED=$ROOT/../shared
RUNS=3
PORT_BASE=18400
KEEP=0

# shellcheck source=bench/stack-options.sh
source "$BENCH_DIR/stack-options.sh"

# The tools, in the order of the first run; each later run starts one further along, so
# every tool runs in every position equally often (when --runs is a multiple of 3).
TOOLS=(firedrill rclone-t4 rclone-t16)

# ------------------------------------------------------------------ python helpers
PYHELPER=$(cat <<'PYEOF'
import json, os, statistics, sys, time, urllib.request

MiB = 1 << 20

def listing(path):
    # `rclone lsf --format sp --separator '\t'`: "SIZE\tKEY" per object
    objs = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            size, _, key = line.partition("\t")
            objs[key] = int(size)
    return objs

def compare(src_path, dst_path):
    src, dst = listing(src_path), listing(dst_path)
    missing = sorted(k for k in src if k not in dst)
    extra = sorted(k for k in dst if k not in src)
    wrong = sorted(k for k in src if k in dst and dst[k] != src[k])
    out = {"objects": len(dst), "bytes": sum(dst.values()),
           "ok": not (missing or extra or wrong)}
    if not out["ok"]:
        out["missing"] = missing[:10]; out["n_missing"] = len(missing)
        out["extra"] = extra[:10]; out["n_extra"] = len(extra)
        out["wrong_size"] = wrong[:10]; out["n_wrong_size"] = len(wrong)
    return out

def parse_time(path):
    # /usr/bin/time -f '%e %M': wall seconds and max RSS in KiB, on the last line
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    wall, rss = lines[-1].split()
    return float(wall), int(rss)

def fmt_s(x):
    return "%.2f s" % x if x < 10 else "%.1f s" % x

LABELS = {
    "firedrill": "firedrill replicate (--jobs 16, default)",
    "rclone-t4": "rclone copy (--transfers 4, default)",
    "rclone-t16": "rclone copy --transfers 16",
}

def report(work, results_json, results_md):
    logs = os.path.join(work, "logs")
    meta = json.load(open(os.path.join(logs, "meta.json")))
    recs = [json.loads(l) for l in open(os.path.join(logs, "records.jsonl"))]
    repo_bytes = meta["repository"]["bytes"]
    tools = {}
    for t in meta["tools"]:
        runs = sorted((r for r in recs if r["tool"] == t), key=lambda r: r["run"])
        walls = [r["wall_s"] for r in runs]
        med = statistics.median(walls)
        tools[t] = {
            "label": LABELS[t],
            "runs": runs,
            "median_s": med,
            "MiBps": repo_bytes / MiB / med if med > 0 else float("inf"),
            "peak_rss_MiB": max(r["max_rss_kib"] for r in runs) / 1024,
        }
    fd = tools["firedrill"]
    ratios = {}
    for t in tools:
        if t != "firedrill":
            # firedrill throughput / rclone throughput == rclone time / firedrill time
            ratios[t] = tools[t]["median_s"] / fd["median_s"] if fd["median_s"] > 0 else float("inf")
    out = {"config": meta, "tools": tools, "ratio_firedrill_throughput_over": ratios}

    header = ["tool", "median time", "MiB/s", "peak RSS MiB", "firedrill ÷ this (throughput)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for t, s in tools.items():
        lines.append("| %s | %s | %.0f | %.0f | %s |" % (
            s["label"], fmt_s(s["median_s"]), s["MiBps"], s["peak_rss_MiB"],
            "—" if t == "firedrill" else "%.2f×" % ratios[t]))
    ds, repo, v = meta["dataset"], meta["repository"], meta["versions"]
    head = [
        "# firedrill replication benchmark",
        "",
        "Repository: `gen_dataset.py gen --size %s --seed %s` (%d files, %.1f MiB) backed up once by "
        "firedrill (16 MiB packs): %d objects, %.1f MiB, on SeaweedFS instance 1; each tool copied it "
        "%d time(s) to a fresh prefix on SeaweedFS instance 2, the tools taking turns. "
        "Versions: firedrill %s, rclone %s, SeaweedFS %s. Machine: %s CPUs, %s."
        % (meta["size"], meta["seed"], ds["files"], ds["bytes"] / MiB, repo["objects"],
           repo["bytes"] / MiB, meta["runs"], v["firedrill"], v["rclone"], v["seaweedfs"],
           meta["nproc"], meta["date"]),
        "",
    ]
    foot = [
        "",
        "Time: median wall time of the runs (%s). MiB/s: repository bytes ÷ median time. "
        "Peak RSS: the highest of the runs. Last column: firedrill's throughput ÷ that rclone "
        "variant's (>1: firedrill faster). Every copy held exactly the source's keys and sizes."
        % "; ".join("%s: %s" % (t, ", ".join("%.2f" % r["wall_s"] for r in tools[t]["runs"]))
                    for t in tools),
    ]
    md = "\n".join(head + lines + foot) + "\n"
    with open(results_md, "w") as f:
        f.write(md)
    with open(results_json, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    sys.stdout.write(md)

def volumes(url):
    with urllib.request.urlopen(url + "/status", timeout=30) as r:
        return json.load(r).get("Volumes") or []

def live_bytes(url):
    return sum(v["Size"] - v["DeletedByteCount"] for v in volumes(url))

def reclaim(volume_url, master_url, baseline, timeout=180):
    # The filer deletes an object's chunks from the volumes a few seconds after the S3
    # delete; wait for that, then compact the volumes.
    t0 = time.time()
    while live_bytes(volume_url) > baseline + MiB and time.time() - t0 < timeout:
        time.sleep(0.5)
    waited = time.time() - t0
    live = live_bytes(volume_url)
    if live > baseline + MiB:
        print("warning: %d bytes still live on the destination after %.0f s" % (live - baseline, waited),
              file=sys.stderr)
    with urllib.request.urlopen(master_url + "/vol/vacuum?garbageThreshold=0.0001", timeout=900) as r:
        r.read()
    return {"waited_s": round(waited, 1), "vacuum_s": round(time.time() - t0 - waited, 1),
            "stored_after": sum(v["Size"] for v in volumes(volume_url))}

cmd = sys.argv[1]
if cmd == "live-bytes":
    print(live_bytes(sys.argv[2]))
elif cmd == "reclaim":
    print(json.dumps(reclaim(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
elif cmd == "compare":
    print(json.dumps(compare(sys.argv[2], sys.argv[3])))
elif cmd == "record":
    # record TOOL RUN POSITION PREFIX TIMEFILE CHECK_JSON [FIREDRILL_JSON_FILE]
    tool, run, pos, prefix, timef, check = sys.argv[2:8]
    wall, rss = parse_time(timef)
    rec = {"tool": tool, "run": int(run), "position": int(pos), "prefix": prefix,
           "wall_s": wall, "max_rss_kib": rss, "copy": json.loads(check)}
    if len(sys.argv) > 8:
        rep = json.load(open(sys.argv[8]))
        rec["firedrill_report"] = {"seconds": rep["seconds"], "replicas": [
            {k: r.get(k) for k in ("name", "status", "objects_copied", "bytes_copied",
                                   "objects_present", "snapshots_copied", "objects_failed")}
            for r in rep["replicas"]]}
    print(json.dumps(rec))
elif cmd == "check-firedrill":
    # exit 1 unless every replica in the report is complete
    rep = json.load(open(sys.argv[2]))
    bad = [r for r in rep["replicas"] if r.get("status") != "complete"]
    if bad or not rep["replicas"]:
        sys.exit("replicate did not complete: %s" % json.dumps(rep["replicas"]))
elif cmd == "meta":
    out, size, seed, runs, stats, src_listing, fd_v, rc_v, sw_v = sys.argv[2:11]
    st = json.load(open(stats))
    objs = listing(src_listing)
    meta = {"size": size, "seed": int(seed), "runs": int(runs), "tools": sys.argv[11:],
            "dataset": {"files": st["files"], "bytes": st["bytes"]},
            "repository": {"objects": len(objs), "bytes": sum(objs.values())},
            "versions": {"firedrill": fd_v, "rclone": rc_v, "seaweedfs": sw_v},
            "nproc": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    with open(out, "w") as f:
        json.dump(meta, f, indent=1)
elif cmd == "get":
    v = json.load(sys.stdin)
    for k in sys.argv[2:]:
        v = v[k]
    print(v)
elif cmd == "report":
    report(*sys.argv[2:5])
else:
    sys.exit("unknown helper command " + cmd)
PYEOF
)
py() { python3 -c "$PYHELPER" "$@"; }

# ------------------------------------------------------------------ work dir
# shellcheck source=bench/workdir.sh
source "$BENCH_DIR/workdir.sh"
claim_work_dir .firedrill-bench-replicate
DATA=$WORK/data
LOGS=$WORK/logs
CONF=$WORK/conf
# The object-store stack is private to the benchmark: its own state dir and ports, so a
# user's stack (infra/local/up with the default state dir and ports) is never touched.
STACK=$WORK/stack
[[ ! -e $STACK/stack.env ]] || FIREDRILL_LOCAL_DIR=$STACK "$ROOT/infra/local/down" >/dev/null 2>&1 || true
rm -rf "$DATA" "$LOGS" "$CONF" "$STACK" "$WORK/cache" "$WORK/config" "$WORK/results.md" "$WORK/results.json"
mkdir -p "$LOGS" "$CONF"
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
        rm -rf "$DATA" "$LOGS" "$CONF" "$STACK" "$WORK/cache" "$WORK/config"
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
# Nothing from the caller's shell steers the tools: no firedrill repository, config or key
# file, no user stack (a sourced stack.env), no rclone flags or remotes.
while IFS= read -r v; do
    case $v in FIREDRILL_*|RCLONE_*) unset "$v" ;; esac
done < <(compgen -e)
# rclone 1.60's S3 client cannot load AWS_CA_BUNDLE into its own HTTP transport and
# refuses to start when it is set; the endpoints here are plain http.
unset AWS_CA_BUNDLE
export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY} no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
export XDG_CACHE_HOME=$WORK/cache XDG_CONFIG_HOME=$WORK/config
mkdir -p "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"
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
# SeaweedFS and rclone (both pinned or packaged; quiet when already there)
"$ROOT/infra/local/install" --bench >"$LOGS/install.log" 2>&1 || { cat "$LOGS/install.log" >&2; die "infra/local/install --bench failed"; }
command -v rclone >/dev/null || die "rclone not found after infra/local/install --bench"
WEED=$(sed -n 's/^weed: //p' "$LOGS/install.log")

if [[ -z $FIREDRILL ]]; then
    log "building firedrill (release)"
    (cd "$ROOT" && cargo build --release)
    target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | py get target_directory)
    FIREDRILL=$target_dir/release/firedrill
fi
[[ -x $FIREDRILL ]] || die "firedrill binary not found or not executable: $FIREDRILL"
FIREDRILL=$(cd "$(dirname "$FIREDRILL")" && pwd)/$(basename "$FIREDRILL")
"$FIREDRILL" replicate --help >/dev/null 2>&1 || die "$FIREDRILL has no replicate command (an old build?)"

# ------------------------------------------------------------------ stack
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
SRC_BUCKET=$FIREDRILL_LOCAL_PRIMARY_BUCKET
DST_BUCKET=$FIREDRILL_LOCAL_REPLICA_BUCKET
DST_MASTER=http://127.0.0.1:$((FIREDRILL_LOCAL_EU_CENTRAL_PORT_BASE + 1))
DST_VOLUME=http://127.0.0.1:$((FIREDRILL_LOCAL_EU_CENTRAL_PORT_BASE + 2))
# bytes the destination instance holds before any copy (the copies are deleted back to it)
DST_BASELINE=$(py live-bytes "$DST_VOLUME")

# rclone: two remotes, configured only through the environment, rclone's defaults otherwise.
export RCLONE_CONFIG=$CONF/rclone.conf
: >"$RCLONE_CONFIG"
for side in SRC DST; do
    if [[ $side == SRC ]]; then endpoint=$FIREDRILL_LOCAL_S3_EU_WEST; else endpoint=$FIREDRILL_LOCAL_S3_EU_CENTRAL; fi
    export "RCLONE_CONFIG_${side}_TYPE=s3" "RCLONE_CONFIG_${side}_PROVIDER=Other" \
        "RCLONE_CONFIG_${side}_ENV_AUTH=false" "RCLONE_CONFIG_${side}_ENDPOINT=$endpoint" \
        "RCLONE_CONFIG_${side}_ACCESS_KEY_ID=$FIREDRILL_LOCAL_S3_KEY" \
        "RCLONE_CONFIG_${side}_SECRET_ACCESS_KEY=$FIREDRILL_LOCAL_S3_SECRET" \
        "RCLONE_CONFIG_${side}_FORCE_PATH_STYLE=true"
done

# fd_config FILE [REPLICA_PREFIX]: the primary on instance 1, optionally one replica on instance 2
fd_config() {
    cat >"$1" <<EOF
[repository]
password_env = "FIREDRILL_PASSWORD"

[primary]
location = "s3:$FIREDRILL_LOCAL_S3_EU_WEST/$SRC_BUCKET/repo"
region = "eu-west"
credentials = { access_key_id_env = "FIREDRILL_LOCAL_S3_KEY", secret_access_key_env = "FIREDRILL_LOCAL_S3_SECRET" }
EOF
    if [[ $# -ge 2 ]]; then
        cat >>"$1" <<EOF

[[replica]]
name = "target"
location = "s3:$FIREDRILL_LOCAL_S3_EU_CENTRAL/$DST_BUCKET/$2"
region = "eu-central"
credentials = { access_key_id_env = "FIREDRILL_LOCAL_S3_KEY", secret_access_key_env = "FIREDRILL_LOCAL_S3_SECRET" }
EOF
    fi
}

# list REMOTE:BUCKET/PREFIX FILE: every object below the prefix as "SIZE<TAB>KEY", sorted
list() {
    rclone lsf -R --files-only --format sp --separator $'\t' "$1" >"$2.tmp" 2>"$2.err" ||
        { cat "$2.err" >&2; die "cannot list $1"; }
    LC_ALL=C sort "$2.tmp" >"$2"
    rm -f "$2.tmp" "$2.err"
}

# Removes a destination prefix, waits until SeaweedFS has deleted its chunks, and has it
# reclaim the space at once (its own vacuum would otherwise run at some point during a
# later measurement, and the disk would fill with deleted copies).
drop_dest() {
    rclone purge "DST:$DST_BUCKET/$1" >>"$LOGS/purge.log" 2>&1 || { cat "$LOGS/purge.log" >&2; die "cannot delete DST:$DST_BUCKET/$1"; }
    py reclaim "$DST_VOLUME" "$DST_MASTER" "$DST_BASELINE" >>"$LOGS/reclaim.log" || die "cannot reclaim the space of DST:$DST_BUCKET/$1"
}

# ------------------------------------------------------------------ measurement
# copy_with TOOL RUN POSITION: one timed copy of the primary to a fresh prefix on instance 2,
# checked against the source listing, recorded, then deleted.
copy_with() {
    local tool=$1 run=$2 pos=$3 prefix base rc=0
    local cmd=()
    case $tool in
        firedrill)
            prefix=repo-fd-$run
            fd_config "$CONF/replicate-$run.toml" "$prefix"
            cmd=("$FIREDRILL" --config "$CONF/replicate-$run.toml" --json replicate --to target) ;;
        rclone-t4)
            prefix=repo-rclone4-$run
            cmd=(rclone copy "SRC:$SRC_BUCKET/repo" "DST:$DST_BUCKET/$prefix" --transfers 4) ;;
        rclone-t16)
            prefix=repo-rclone16-$run
            cmd=(rclone copy "SRC:$SRC_BUCKET/repo" "DST:$DST_BUCKET/$prefix" --transfers 16) ;;
    esac
    base=$LOGS/$tool-run$run
    # flush the previous copy's writes so they are not billed to this one
    sync
    echo "   run $run: $tool: ${cmd[*]}" >&2
    /usr/bin/time -f '%e %M' -o "$base.time" "${cmd[@]}" >"$base.out" 2>"$base.err" || rc=$?
    if [[ $rc != 0 ]]; then
        {
            printf '\nFAILED: %s run %s (exit %s): %s\n' "$tool" "$run" "$rc" "${cmd[*]}"
            echo "---- stderr ----"; tail -n 200 "$base.err"
            echo "---- stdout, last 40 lines ----"; tail -n 40 "$base.out"
        } >&2
        exit 1
    fi
    [[ $tool != firedrill ]] || py check-firedrill "$base.out" || die "see $base.out"
    list "DST:$DST_BUCKET/$prefix" "$base.listing"
    local check; check=$(py compare "$LOGS/source.listing" "$base.listing")
    [[ $(py get ok <<<"$check") == True ]] || die "$tool run $run: the copy differs from the source: $check"
    if [[ $tool == firedrill ]]; then
        py record "$tool" "$run" "$pos" "$prefix" "$base.time" "$check" "$base.out" >>"$RECORDS"
    else
        py record "$tool" "$run" "$pos" "$prefix" "$base.time" "$check" >>"$RECORDS"
    fi
    local wall rss
    read -r wall rss <"$base.time"
    printf '     %s s, max RSS %s KiB; copy complete\n' "$wall" "$rss" >&2
    drop_dest "$prefix"
}

# ------------------------------------------------------------------ run
log "generating dataset ($SIZE, seed $SEED) in $DATA"
python3 "$GEN" gen "$DATA" --size "$SIZE" --seed "$SEED" >"$LOGS/gen.json"
python3 "$GEN" stats "$DATA" >"$LOGS/stats.json"

log "firedrill init + backup into the primary (s3-eu-west, $SRC_BUCKET/repo)"
fd_config "$CONF/primary.toml"
for step in init backup; do
    args=(init --kdf-memory-mib 8 --kdf-iterations 1)
    [[ $step == backup ]] && args=(backup "$DATA")
    "$FIREDRILL" --config "$CONF/primary.toml" "${args[@]}" >"$LOGS/$step.out" 2>"$LOGS/$step.err" ||
        { tail -n 100 "$LOGS/$step.err" >&2; die "firedrill $step failed"; }
done
# The dataset is not needed any more: only the repository is copied.
[[ $KEEP == 1 ]] || rm -rf "$DATA"
list "SRC:$SRC_BUCKET/repo" "$LOGS/source.listing"
[[ -s $LOGS/source.listing ]] || die "the primary holds no objects after the backup"
if grep -q $'\tlocks/' "$LOGS/source.listing"; then die "a lock was left in the primary after the backup"; fi
awk -F'\t' '{n++; b+=$1} END {printf "   repository: %d objects, %d bytes\n", n, b}' "$LOGS/source.listing" >&2

log "copying the repository to instance 2 (s3-eu-central), $RUNS run(s), tools taking turns: ${TOOLS[*]}"
for run in $(seq 1 "$RUNS"); do
    for pos in 0 1 2; do
        copy_with "${TOOLS[$(((run - 1 + pos) % 3))]}" "$run" $((pos + 1))
    done
done

fd_version=$("$FIREDRILL" --version 2>/dev/null | head -n 1 || echo unknown)
rclone_version=$(rclone version 2>/dev/null | head -n 1 | awk '{print $2}')
weed_version=$("${WEED:-weed}" version 2>/dev/null | awk '$1 == "version" {print $3; exit}')
py meta "$LOGS/meta.json" "$SIZE" "$SEED" "$RUNS" "$LOGS/stats.json" "$LOGS/source.listing" \
    "${fd_version#firedrill }" "${rclone_version:-unknown}" "${weed_version:-unknown}" "${TOOLS[@]}"

log "results ($WORK/results.md, $WORK/results.json)"
echo
py report "$WORK" "$WORK/results.json" "$WORK/results.md"
