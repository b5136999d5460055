#!/usr/bin/env bash
# Benchmark firedrill against restic (and optionally borg) in one run on one dataset.
# See bench/README.md for what is measured and how to read the output.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash bench/run.sh [options]
  --size SIZE        dataset size for gen_dataset.py (default 1G)
  --seed N           dataset and mutation seed (default 42)
  --work DIR         scratch dir (default /tmp/firedrill-bench)
  --firedrill PATH   use this binary instead of `cargo build --release`
  --shared DIR       dir holding bench/gen_dataset.py (default: ../shared from the crate root)
  --with-borg        also run borg (borgbackup, zstd,3)
  --only LIST        comma-separated subset of firedrill,restic,borg (for working on the harness)
  --keep             keep dataset, repos and logs in the work dir
EOF
}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

SIZE=1G
SEED=42
WORK=/tmp/firedrill-bench
FIREDRILL=
SHARED=$ROOT/../shared
WITH_BORG=0
ONLY=
KEEP=0

while [[ $# -gt 0 ]]; do
    case $1 in --size|--seed|--work|--firedrill|--shared|--only)
        [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; } ;;
    esac
    case $1 in
        --size) SIZE=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --firedrill) FIREDRILL=$2; shift 2 ;;
        --shared) SHARED=$2; shift 2 ;;
        --with-borg) WITH_BORG=1; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

[[ $SEED =~ ^[0-9]+$ ]] || { echo "--seed must be a non-negative integer" >&2; exit 2; }

TOOLS=(firedrill restic)
[[ $WITH_BORG == 1 ]] && TOOLS+=(borg)
if [[ -n $ONLY ]]; then
    IFS=, read -r -a TOOLS <<<"$ONLY"
    for t in "${TOOLS[@]}"; do
        case $t in firedrill|restic|borg) ;; *) echo "--only: unknown tool '$t'" >&2; exit 2 ;; esac
    done
fi
has_tool() { local t; for t in "${TOOLS[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }

GEN=$SHARED/bench/gen_dataset.py
[[ -f $GEN ]] || { echo "gen_dataset.py not found at $GEN (use --shared DIR)" >&2; exit 2; }
GEN=$(cd "$(dirname "$GEN")" && pwd)/gen_dataset.py

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ python helpers
# One embedded helper so all parsing (time -v, JSON, the report) lives in python, not in sed/awk.
PYHELPER=$(cat <<'PYEOF'
import hashlib, json, os, sys, time

def parse_time(path):
    wall = rss = None
    with open(path) as f:
        for line in f:
            key, _, val = line.strip().rpartition(": ")
            if key.startswith("Elapsed (wall clock) time"):
                secs = 0.0
                for part in val.split(":"):
                    secs = secs * 60 + float(part)
                wall = secs
            elif key == "Maximum resident set size (kbytes)":
                rss = int(val)
    if wall is None or rss is None:
        sys.exit("could not parse /usr/bin/time -v output in %s" % path)
    return wall, rss

def tree_digest(root):
    # Layout-agnostic: tools place restored files under different prefixes, so compare the
    # multiset of file contents rather than paths.
    entries = []
    nbytes = 0
    for d, dirs, files in os.walk(root):
        for fn in files:
            p = os.path.join(d, fn)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
                    nbytes += len(b)
            entries.append(h.hexdigest())
    entries.sort()
    return {"files": len(entries), "bytes": nbytes,
            "digest": hashlib.sha256("\n".join(entries).encode()).hexdigest()}

def fmt_s(x):
    return "%.2f s" % x if x < 10 else "%.1f s" % x

def report(work, results_json, results_md):
    recs = [json.loads(l) for l in open(os.path.join(work, "logs", "records.jsonl"))]
    meta = json.load(open(os.path.join(work, "logs", "meta.json")))
    tools = meta["tools"]
    out = {"config": meta, "tools": {}}
    for t in tools:
        out["tools"][t] = {"steps": {}}
    meta["versions"] = {}
    for r in recs:
        tt = out["tools"][r["tool"]]
        if r["kind"] == "step":
            tt["steps"][r["step"]] = {"wall_s": r["wall_s"], "max_rss_kib": r["max_rss_kib"]}
            # Repeated steps ("restore_run1".."_runN") also count as one step: median time, max RSS.
            if "_run" in r["step"]:
                name = r["step"].rsplit("_run", 1)[0]
                runs = tt.setdefault("runs", {}).setdefault(name, [])
                runs.append((r["wall_s"], r["max_rss_kib"]))
                walls = sorted(w for w, _ in runs)
                tt["steps"][name] = {"wall_s": walls[len(walls) // 2], "max_rss_kib": max(m for _, m in runs),
                                     "runs_s": [w for w, _ in runs]}
        elif r["kind"] == "version":
            meta["versions"][r["tool"]] = r["value"]
        else:
            tt[r["kind"]] = r["value"]
    ds0 = meta["dataset"]["bytes"]
    ds1 = meta["dataset_after_mutate"]["bytes"]
    for t in tools:
        tt = out["tools"][t]
        st = tt["steps"]
        peak_step = max(st, key=lambda s: st[s]["max_rss_kib"])
        tt["summary"] = {
            "initial_backup_s": st["backup_initial"]["wall_s"],
            "initial_backup_MBps": ds0 / 1e6 / st["backup_initial"]["wall_s"],
            "incremental_backup_s": st["backup_incremental"]["wall_s"],
            "restore_s": st["restore"]["wall_s"],
            "restore_MBps": ds1 / 1e6 / st["restore"]["wall_s"],
            "restore_tmpfs_s": st["restore_tmpfs"]["wall_s"],
            "restore_tmpfs_MBps": ds1 / 1e6 / st["restore_tmpfs"]["wall_s"],
            "verify_s": st["verify"]["wall_s"],
            "peak_rss_MiB": st[peak_step]["max_rss_kib"] / 1024,
            "peak_rss_step": peak_step,
            "repo_bytes": tt["repo_bytes"],
            "repo_fraction_of_dataset": tt["repo_bytes"] / ds0,
        }

    anchors = [t for t in tools if t != "firedrill"] if "firedrill" in tools else []
    S = {t: out["tools"][t]["summary"] for t in tools}
    rows = [
        ("initial backup", lambda s: "%s (%.0f MB/s)" % (fmt_s(s["initial_backup_s"]), s["initial_backup_MBps"]),
         "initial_backup_s", "faster", "throughput"),
        ("incremental backup", lambda s: fmt_s(s["incremental_backup_s"]), "incremental_backup_s", "faster", "speed"),
        ("full restore to disk", lambda s: "%s (%.0f MB/s)" % (fmt_s(s["restore_s"]), s["restore_MBps"]),
         "restore_s", "faster", "throughput"),
        ("full restore to tmpfs", lambda s: "%s (%.0f MB/s)" % (fmt_s(s["restore_tmpfs_s"]), s["restore_tmpfs_MBps"]),
         "restore_tmpfs_s", "faster", "throughput"),
        ("verify all data", lambda s: fmt_s(s["verify_s"]), "verify_s", "faster", "speed"),
        ("peak RSS", lambda s: "%.0f MiB (%s)" % (s["peak_rss_MiB"], s["peak_rss_step"]), "peak_rss_MiB", "plain", None),
        ("repo size (2 snapshots)", lambda s: "%.0f MB (%.2f× dataset)" % (s["repo_bytes"] / 1e6, s["repo_fraction_of_dataset"]),
         "repo_bytes", "plain", None),
    ]
    ratios = {}
    header = ["metric"] + tools + ["firedrill vs %s" % a for a in anchors]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, cell, key, how, word in rows:
        row = [name] + [cell(S[t]) for t in tools]
        for a in anchors:
            f, r = S["firedrill"][key], S[a][key]
            if how == "faster":
                # anchor time / firedrill time == firedrill rate / anchor rate: >1 means firedrill is better
                x = r / f if f > 0 else float("inf")
                row.append("%.2f× %s %s" % (x, a, word))
            else:
                x = f / r if r > 0 else float("inf")
                row.append("%.2f× %s" % (x, a))
            ratios.setdefault(a, {})[key] = x
        lines.append("| " + " | ".join(row) + " |")
    out["ratios_firedrill_vs"] = ratios

    d0, d1, m = meta["dataset"], meta["dataset_after_mutate"], meta["mutate"]
    head = [
        "# firedrill benchmark",
        "",
        "Dataset: `gen_dataset.py gen --size %s --seed %s`: %d files, %.1f MB; after `mutate --round 1`: "
        "%d files, %.1f MB (%.1f MB changed). Tools: %s. Machine: %s CPUs, %s. Page cache warmed before each backup."
        % (meta["size"], meta["seed"], d0["files"], d0["bytes"] / 1e6, d1["files"], d1["bytes"] / 1e6,
           m.get("changed_bytes", 0) / 1e6, ", ".join("%s (%s)" % (t, meta["versions"][t]) for t in tools),
           meta["nproc"], meta["date"]),
        "",
    ]
    foot = []
    if anchors:
        foot = ["",
                "Ratios are from this run only. Time rows: anchor time ÷ firedrill time (>1: firedrill faster). "
                "RSS and size rows: firedrill ÷ anchor (<1: firedrill smaller)."]
    md = "\n".join(head + lines + foot) + "\n"
    with open(results_md, "w") as f:
        f.write(md)
    with open(results_json, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    sys.stdout.write(md)

cmd = sys.argv[1]
if cmd == "parse-time":
    wall, rss = parse_time(sys.argv[2])
    print(json.dumps({"kind": "step", "tool": sys.argv[3], "step": sys.argv[4], "wall_s": wall, "max_rss_kib": rss}))
elif cmd == "record":
    print(json.dumps({"kind": sys.argv[3], "tool": sys.argv[2], "value": json.loads(sys.argv[4])}))
elif cmd == "record-str":
    print(json.dumps({"kind": sys.argv[3], "tool": sys.argv[2], "value": sys.argv[4]}))
elif cmd == "meta":
    out, size, seed, st0, st1, mut = sys.argv[2:8]
    load = lambda p: json.load(open(p))
    strip = lambda d: {k: d[k] for k in ("files", "bytes")}
    meta = {"size": size, "seed": int(seed), "tools": sys.argv[8:],
            "dataset": strip(load(st0)), "dataset_after_mutate": strip(load(st1)), "mutate": load(mut),
            "nproc": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    with open(out, "w") as f:
        json.dump(meta, f, indent=1)
elif cmd == "digest":
    print(json.dumps(tree_digest(sys.argv[2])))
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
claim_work_dir .firedrill-bench
DATA=$WORK/data
REPOS=$WORK/repos
RESTORE=$WORK/restore
RESTORE_TMPFS=/dev/shm/firedrill-bench-restore
LOGS=$WORK/logs
rm -rf "$DATA" "$REPOS" "$RESTORE" "$LOGS" "$WORK/cache" "$WORK/config" "$WORK/results.md" "$WORK/results.json"
mkdir -p "$REPOS" "$LOGS"
RECORDS=$LOGS/records.jsonl
: >"$RECORDS"

cleanup() {
    local rc=$?
    if [[ $KEEP == 1 ]]; then
        echo "work dir kept: $WORK" >&2
    else
        # results.* survive so a finished run can still be read after cleanup
        rm -rf "$DATA" "$REPOS" "$RESTORE" "$LOGS" "$WORK/cache" "$WORK/config"
        rm -rf "$RESTORE_TMPFS"
        # the marker stays with the results so the next run may reuse the dir
        [[ $rc == 0 ]] || rm -f "$WORK/results.md" "$WORK/results.json" "$WORK/$MARKER"
        rmdir "$WORK" 2>/dev/null || true
    fi
    exit $rc
}
trap cleanup EXIT

# ------------------------------------------------------------------ dependencies
missing=()
[[ -x /usr/bin/time ]] || missing+=(time)
has_tool restic && ! command -v restic >/dev/null && missing+=(restic)
has_tool borg && ! command -v borg >/dev/null && missing+=(borgbackup)
if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    SUDO=
    [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null || die "python3 is required"

if has_tool firedrill; then
    if [[ -z $FIREDRILL ]]; then
        log "building firedrill (release)"
        (cd "$ROOT" && cargo build --release)
        target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | py get target_directory)
        FIREDRILL=$target_dir/release/firedrill
    fi
    [[ -x $FIREDRILL ]] || die "firedrill binary not found or not executable: $FIREDRILL"
    FIREDRILL=$(cd "$(dirname "$FIREDRILL")" && pwd)/$(basename "$FIREDRILL")
fi

# Every tool's cache and config (restic's cache, borg's files cache and security dir, whatever
# firedrill keeps) live in the work dir, so no run inherits state from an earlier one and
# nothing is left behind.
export XDG_CACHE_HOME=$WORK/cache XDG_CONFIG_HOME=$WORK/config
mkdir -p "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"
export FIREDRILL_PASSWORD=bench-password RESTIC_PASSWORD=bench-password BORG_PASSPHRASE=bench-password
unset RESTIC_REPOSITORY RESTIC_PASSWORD_FILE RESTIC_PASSWORD_COMMAND BORG_REPO BORG_PASSCOMMAND 2>/dev/null || true

# ------------------------------------------------------------------ measurement
# measure TOOL STEP [--cwd DIR] -- CMD...   (records wall time and max RSS; aborts with the tool's output on failure)
measure() {
    local tool=$1 step=$2 cwd=.
    shift 2
    if [[ $1 == --cwd ]]; then cwd=$2; shift 2; fi
    [[ $1 == -- ]] && shift
    local base=$LOGS/$tool-$step rc=0
    # flush earlier tools' repo writes so they are not billed to this step
    sync
    echo "   $tool $step: $*" >&2
    (cd "$cwd" && /usr/bin/time -v -o "$base.time" "$@" >"$base.out" 2>"$base.err") || rc=$?
    if [[ $rc != 0 ]]; then
        {
            printf '\nFAILED: %s %s (exit %s): %s\n' "$tool" "$step" "$rc" "$*"
            echo "---- stderr ----"; tail -n 200 "$base.err"
            echo "---- stdout, last 40 lines ----"; tail -n 40 "$base.out"
        } >&2
        exit 1
    fi
    py parse-time "$base.time" "$tool" "$step" >>"$RECORDS"
    printf '     %s\n' "$(tail -n 1 "$RECORDS")" >&2
}

record() { py record "$1" "$2" "$3" >>"$RECORDS"; }
record_str() { py record-str "$1" "$2" "$3" >>"$RECORDS"; }

# Every backup starts from a fully cached tree: cold reads here vary by 25-30%, warm by ~3%.
warm_cache() { find "$DATA" -type f -print0 | xargs -0 -r cat >/dev/null; }

REPO_SUFFIX=
repo_of() { echo "$REPOS/$1$REPO_SUFFIX"; }

tool_init() {
    local t=$1 r; r=$(repo_of "$t")
    case $t in
        firedrill) measure "$t" "init$2" -- "$FIREDRILL" --repo "$r" init ;;
        restic) measure "$t" "init$2" -- restic -r "$r" init ;;
        borg) measure "$t" "init$2" -- borg init --encryption=repokey-blake2 "$r" ;;
    esac
}

# tool_backup TOOL STEP ARCHIVE_NAME
tool_backup() {
    local t=$1 step=$2 name=$3 r; r=$(repo_of "$t")
    warm_cache
    case $t in
        firedrill) measure "$t" "$step" -- "$FIREDRILL" --repo "$r" backup "$DATA" ;;
        restic) measure "$t" "$step" -- restic -r "$r" backup "$DATA" ;;
        borg) measure "$t" "$step" -- borg create --compression zstd,3 "$r::$name" "$DATA" ;;
    esac
}

# Each restore goes into a directory of its own that is kept until the end of the run:
# ext4 makes creating inodes slow for minutes after many were deleted, so deleting one
# tool's restore right before the next tool's would charge that tool for it.
# The tmpfs restore measures the tool without the filesystem's inode allocation.
# Each restore runs RESTORE_RUNS times, the tools taking turns, and the median counts:
# on this VM the first large allocation after another process freed a lot of memory is
# slow (freed pages go back to the host), and ext4 slows down after mass deletions, which
# would otherwise bill whichever tool comes first for the conditions it inherits.
RESTORE_RUNS=3
tool_restore() {
    local t=$1 base=$2 step=$3 i=$4 r; r=$(repo_of "$t")
    {
        local target=$base/$t-$i
        rm -rf "$target"; mkdir -p "$target"
        case $t in
            firedrill) measure "$t" "${step}_run$i" -- "$FIREDRILL" --repo "$r" restore latest --target "$target" ;;
            restic) measure "$t" "${step}_run$i" -- restic -r "$r" restore latest --target "$target" ;;
            # borg extracts into the current directory; "incremental" is the newest archive
            borg) measure "$t" "${step}_run$i" --cwd "$target" -- borg extract "$r::incremental" ;;
        esac
        if [[ $i == 1 ]]; then
            local got; got=$(py digest "$target")
            if [[ $(py get digest <<<"$got") != $(py get digest <<<"$DIGEST_MUTATED") ]]; then
                die "$t restore does not match the mutated dataset: restored $got, expected $DIGEST_MUTATED"
            fi
        fi
        if [[ $base == "$RESTORE_TMPFS" ]]; then rm -rf "$target"; fi
    }
}

tool_verify() {
    local t=$1 r; r=$(repo_of "$t")
    case $t in
        firedrill) measure "$t" verify -- "$FIREDRILL" --repo "$r" verify --read-data ;;
        restic) measure "$t" verify -- restic -r "$r" check --read-data ;;
        borg) measure "$t" verify -- borg check --verify-data "$r" ;;
    esac
}

repo_bytes() { du -sb "$(repo_of "$1")" | cut -f1; }

tool_version() {
    case $1 in
        firedrill) "$FIREDRILL" --version 2>/dev/null | head -n 1 || echo unknown ;;
        restic) restic version | awk '{print $2}' ;;
        borg) borg --version | awk '{print $2}' ;;
    esac
}

# ------------------------------------------------------------------ run
log "generating dataset ($SIZE, seed $SEED) in $DATA"
python3 "$GEN" gen "$DATA" --size "$SIZE" --seed "$SEED" >"$LOGS/gen.json"
python3 "$GEN" stats "$DATA" >"$LOGS/stats_initial.json"

# The initial backup also runs BACKUP_RUNS times, tools taking turns, median counts (the
# same VM effects as for restores); the last run's repository is the one used from here.
BACKUP_RUNS=3
log "init + initial backup ($BACKUP_RUNS runs each, tools taking turns): ${TOOLS[*]}"
for i in $(seq 1 "$BACKUP_RUNS"); do
    for t in "${TOOLS[@]}"; do
        if [[ $i -lt $BACKUP_RUNS ]]; then REPO_SUFFIX=-run$i; else REPO_SUFFIX=; fi
        tool_init "$t" "_run$i"
        tool_backup "$t" "backup_initial_run$i" initial
        if [[ -n $REPO_SUFFIX ]]; then rm -rf "$(repo_of "$t")"; fi
        REPO_SUFFIX=
    done
done
for t in "${TOOLS[@]}"; do
    record "$t" repo_bytes_initial "$(repo_bytes "$t")"
done

# Mutate exactly once, after every initial backup and before any incremental, so all tools
# back up the same second tree.
log "mutating dataset (round 1)"
python3 "$GEN" mutate "$DATA" --seed "$SEED" --round 1 >"$LOGS/mutate.json"
python3 "$GEN" stats "$DATA" >"$LOGS/stats_mutated.json"
DIGEST_MUTATED=$(py digest "$DATA")

log "incremental backup: ${TOOLS[*]}"
for t in "${TOOLS[@]}"; do
    tool_backup "$t" backup_incremental incremental
done
log "restore ($RESTORE_RUNS runs each, tools taking turns): ${TOOLS[*]}"
for i in $(seq 1 "$RESTORE_RUNS"); do
    for t in "${TOOLS[@]}"; do tool_restore "$t" "$RESTORE" restore "$i"; done
done
for i in $(seq 1 "$RESTORE_RUNS"); do
    for t in "${TOOLS[@]}"; do tool_restore "$t" "$RESTORE_TMPFS" restore_tmpfs "$i"; done
done
log "verify: ${TOOLS[*]}"
for t in "${TOOLS[@]}"; do
    tool_verify "$t"
    record "$t" repo_bytes "$(repo_bytes "$t")"
done

for t in "${TOOLS[@]}"; do record_str "$t" version "$(tool_version "$t")"; done
py meta "$LOGS/meta.json" "$SIZE" "$SEED" "$LOGS/stats_initial.json" "$LOGS/stats_mutated.json" "$LOGS/mutate.json" "${TOOLS[@]}"

log "results ($WORK/results.md, $WORK/results.json)"
echo
py report "$WORK" "$WORK/results.json" "$WORK/results.md"
