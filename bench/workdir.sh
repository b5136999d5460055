# The benchmarks' work directory: claim_work_dir MARKER makes $WORK (absolute) and marks
# it as a benchmark's, refusing a non-empty directory without that marker, so a mistyped
# --work never wipes an unrelated directory. Needs `die` from the caller.
# shellcheck shell=bash disable=SC2034  # WORK and MARKER are the caller's

claim_work_dir() {
    MARKER=$1
    if [[ -e $WORK ]]; then
        [[ -d $WORK ]] || die "--work $WORK exists and is not a directory"
        if [[ -n $(ls -A "$WORK") && ! -e $WORK/$MARKER ]]; then
            die "--work $WORK is not empty and was not made by this script; refusing to use it"
        fi
    fi
    mkdir -p "$WORK"
    WORK=$(cd "$WORK" && pwd)
    touch "$WORK/$MARKER"
}
