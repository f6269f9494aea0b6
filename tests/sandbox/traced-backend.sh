#!/bin/sh
# VG_BACKEND for the seccomp rule-coverage run: the real backend, traced by
# an strace attached from outside (so the pid the tests signal is the
# backend's own, and its exit status is its own), following every device
# process the launcher starts.  One trace per process in $VG_TRACE_DIR.
set -eu
strace -f -qq -X raw -ff -o "$VG_TRACE_DIR/t.$$" -p $$ 2>/dev/null &
i=0
until grep -qs '^TracerPid:[[:space:]]*[1-9]' /proc/$$/status; do
    i=$((i + 1))
    [ $i -gt 500 ] && { echo "traced-backend: strace did not attach" >&2; exit 99; }
    sleep 0.01
done
exec "$VG_REAL_BACKEND" "$@"
