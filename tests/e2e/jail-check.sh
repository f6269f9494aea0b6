# jail_check CASE STEP: every task of every live device process the launcher
# logged in /run/be-CASE.log is filtered, has no new privileges, runs as 65534
# and sees an empty root, and there is one task.  Sourced by dom0's and the
# driver domain's /init (both initramfs trees carry /vg), which define pass
# and fail.
jail_check() {
    seen=0
    for pid in $(grep -o 'started pid [0-9]*' "/run/be-$1.log" | cut -d' ' -f3); do
        kill -0 "$pid" 2>/dev/null || continue
        n=0 bad=""
        for t in /proc/"$pid"/task/*; do
            n=$((n + 1))
            grep -q '^Seccomp:[[:space:]]*2$' "$t/status" || bad="$bad seccomp"
            grep -q '^NoNewPrivs:[[:space:]]*1$' "$t/status" || bad="$bad nnp"
            grep -q '^Uid:[[:space:]]*65534' "$t/status" || bad="$bad uid"
            [ -z "$(ls -A "$t/root/" 2>/dev/null)" ] || bad="$bad root"
        done
        seen=$((seen + 1))
        if [ -z "$bad" ] && [ $n = 1 ]; then
            pass "$1/$2 pid $pid: 1 task, Seccomp 2, NoNewPrivs 1, uid 65534, empty root"
        else
            fail "$1/$2 pid $pid: $n tasks,$bad"
        fi
    done
    [ $seen -gt 0 ] || fail "$1/$2: no live device process to check"
}
