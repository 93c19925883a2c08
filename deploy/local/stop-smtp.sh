#!/usr/bin/env bash
# Stop the SMTP test server that deploy/local/ensure-services.sh started (by its pid file only).
# Received mail stays in the spool directory; pass --purge to delete it as well.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

SMTP_STATE="$RESTANCE_TOOLS_DIR/smtp"
SMTP_DIR="${RESTANCE_SMTP_DIR:-$SMTP_STATE/inbox}"
PIDFILE="$SMTP_STATE/smtp.pid"

if [ -f "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    # only signal the process if it really is our smtp-sink
    if [ -n "$pid" ] && grep -qa 'smtp-sink.py' "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log smtp "stopped (pid $pid)"
    else
        log smtp "not running (stale pid file)"
    fi
    rm -f "$PIDFILE"
else
    log smtp "not running (no pid file $PIDFILE)"
fi

if [ "${1:-}" = "--purge" ]; then
    rm -rf "$SMTP_DIR"
    log smtp "purged $SMTP_DIR"
fi
