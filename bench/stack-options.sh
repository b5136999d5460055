# Options and helpers shared by the benchmarks that run a private object-store stack
# (replicate.sh, drill.sh). Sourced after the script has set its defaults (SIZE, SEED,
# WORK, FIREDRILL, SHARED, RUNS, PORT_BASE, KEEP) and defined `usage`; it parses "$@",
# validates it, and sets GEN to the dataset generator.
# shellcheck shell=bash disable=SC2034  # the variables set here are the caller's

while [[ $# -gt 0 ]]; do
    case $1 in --size|--seed|--work|--firedrill|--shared|--runs|--port-base)
        [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; } ;;
    esac
    case $1 in
        --size) SIZE=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --firedrill) FIREDRILL=$2; shift 2 ;;
        --shared) SHARED=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --port-base) PORT_BASE=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

[[ $SEED =~ ^[0-9]+$ ]] || { echo "--seed must be a non-negative integer" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive integer" >&2; exit 2; }
if ! [[ $PORT_BASE =~ ^[0-9]+$ ]] || ((PORT_BASE < 1024 || PORT_BASE > 65400)); then
    echo "--port-base must be a number from 1024 to 65400" >&2; exit 2
fi

GEN=$SHARED/bench/gen_dataset.py
[[ -f $GEN ]] || { echo "gen_dataset.py not found at $GEN (use --shared DIR)" >&2; exit 2; }
GEN=$(cd "$(dirname "$GEN")" && pwd)/gen_dataset.py

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
