# dom0's helpers for every case file and the bench (sourced first by dom0's
# /init): where a guest's console log is, and waiting for a line in a file.

# guest_log CASE: where xenconsoled logs the guest's console.
guest_log() {
    if [ -f "/var/log/xen/guest-$1.log" ]; then
        echo "/var/log/xen/guest-$1.log"
    else
        echo "/var/log/xen/console/guest-$1.log"
    fi
}

# wait_line FILE TEXT SECONDS: until FILE has a line with TEXT; 1 on timeout.
wait_line() {
    local i=0 # local: callers have loops of their own (busybox sh has local)
    until grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $(($3 * 2)) ] && return 1
        sleep 0.5
    done
    return 0
}
