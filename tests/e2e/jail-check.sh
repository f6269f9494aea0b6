# jail_check CASE STEP: every task of every live device process the launcher
# logged in /run/be-CASE.log is filtered, has no new privileges, runs as 65534
# and sees an empty root, and there is one task that runs user code.  The
# io_uring engine's kernel workers (PF_IO_WORKER, 0x10 in the flags of
# /proc/PID/task/TID/stat) are tasks of the process too; they never run user
# code, are checked alike and counted apart.  Sourced by dom0's and the
# driver domain's /init (both initramfs trees carry /vg), which define pass
# and fail.
jail_check() {
    seen=0
    for pid in $(grep -o 'started pid [0-9]*' "/run/be-$1.log" | cut -d' ' -f3); do
        kill -0 "$pid" 2>/dev/null || continue
        n=0 io=0 bad=""
        for t in /proc/"$pid"/task/*; do
            flags=$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f7)
            if [ $(( ${flags:-0} & 16 )) -ne 0 ]; then io=$((io + 1)); else n=$((n + 1)); fi
            grep -q '^Seccomp:[[:space:]]*2$' "$t/status" || bad="$bad seccomp"
            grep -q '^NoNewPrivs:[[:space:]]*1$' "$t/status" || bad="$bad nnp"
            grep -q '^Uid:[[:space:]]*65534' "$t/status" || bad="$bad uid"
            [ -z "$(ls -A "$t/root/" 2>/dev/null)" ] || bad="$bad root"
        done
        seen=$((seen + 1))
        if [ -z "$bad" ] && [ $n = 1 ]; then
            pass "$1/$2 pid $pid: 1 task (and $io io_uring workers), Seccomp 2, NoNewPrivs 1, uid 65534, empty root"
        else
            fail "$1/$2 pid $pid: $n tasks,$bad"
        fi
    done
    [ $seen -gt 0 ] || fail "$1/$2: no live device process to check"
}
