#!/usr/bin/env bash
# Make sure the local services Restance's tests need are installed and running:
#   RabbitMQ    127.0.0.1:5672  guest/guest           (Debian package rabbitmq-server), with the
#                               broker identities of deploy/rabbitmq/identities.toml (user
#                               restance-dunning etc., each password its user name) for running a
#                               service as production does; the demo and the tests use guest;
#                               and the dead-letter retention policy on restance.*.dead
#                               ([dead_letters] in identities.toml)
#   PostgreSQL  127.0.0.1:5432  user postgres, trust  (Debian package postgresql)
#   SMTP sink   127.0.0.1:2525  accepts all mail, writes each message as an .eml file
#                               (aiosmtpd in a venv under $RESTANCE_TOOLS_DIR; see smtp-sink.py)
#   poppler     pdftotext, pdfinfo, pdffonts (Debian package poppler-utils): the letter tests
#                               read the rendered PDFs back with them
#
# Idempotent and non-interactive: what already runs is left alone (nothing is restarted or
# reconfigured when it works). Meant for root on Debian 12/13 (uses sudo -n otherwise).
# Exits non-zero with a clear message when a service cannot be brought up.
#
# usage: deploy/local/ensure-services.sh [rabbitmq] [postgres] [smtp] [poppler]   (default: all)
#
# environment:
#   RESTANCE_TOOLS_DIR   tools/venvs/spool root      (default $HOME/.cache/restance-tools)
#   RESTANCE_SMTP_DIR    where received mail is written (default $RESTANCE_TOOLS_DIR/smtp/inbox)
#   RESTANCE_SMTP_PORT   SMTP port                    (default 2525)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

SMTP_PORT="${RESTANCE_SMTP_PORT:-2525}"
SMTP_STATE="$RESTANCE_TOOLS_DIR/smtp"
SMTP_DIR="${RESTANCE_SMTP_DIR:-$SMTP_STATE/inbox}"
AIOSMTPD_VERSION="$RESTANCE_AIOSMTPD_VERSION"

sbin() { # path of an sbin tool even when /usr/sbin is not on PATH
    local t
    for t in "$(command -v "$1" 2>/dev/null)" "/usr/sbin/$1" "/usr/lib/rabbitmq/bin/$1"; do
        if [ -n "$t" ] && [ -x "$t" ]; then
            printf '%s\n' "$t"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------- RabbitMQ
ensure_rabbitmq() {
    if port_open 127.0.0.1 5672; then
        log rabbitmq "running (127.0.0.1:5672)"
        return 0
    fi
    if ! sbin rabbitmq-server >/dev/null; then
        apt_install rabbitmq-server
    fi
    local server ctl
    server="$(sbin rabbitmq-server)" || die "rabbitmq-server not found after install"
    ctl="$(sbin rabbitmqctl)" || die "rabbitmqctl not found after install"
    # the package may have started it (systemd host): give that a moment before starting our own
    if ! wait_for 5 "rabbitmq port" port_open 127.0.0.1 5672; then
        if as_root "$ctl" -q status >/dev/null 2>&1; then
            log rabbitmq "node is booting"
        else
            log rabbitmq "starting (rabbitmq-server -detached)"
            as_root "$server" -detached >/dev/null 2>&1 || true
        fi
    fi
    # await_startup returns once the node is reachable and booted; the port tells AMQP is open
    if ! wait_for 120 "rabbitmq" port_open 127.0.0.1 5672; then
        echo "--- last lines of the RabbitMQ logs:" >&2
        tail -n 30 /var/log/rabbitmq/*.log 2>/dev/null >&2 || true
        die "rabbitmq: not listening on 127.0.0.1:5672 after 120 s"
    fi
    as_root "$ctl" -q await_startup --timeout 60 >/dev/null 2>&1 || true
    RABBIT_STARTED=1
    log rabbitmq "running (127.0.0.1:5672, started)"
}

# One broker user per party (deploy/rabbitmq/identities.toml), least privilege, on vhost / for the
# exchange `restance`; password = user name (this machine only). Applied (one rabbitmqctl
# import_definitions) when the table changed since the last run or this run started the broker;
# else nothing is done. Remove the stamp to apply again.
RABBIT_STARTED=0
ensure_identities() {
    local py="$HERE/../rabbitmq/identities.py" stamp="$RESTANCE_TOOLS_DIR/rabbitmq/identities.sha256"
    local defs want ctl
    defs="$(python3 "$py" definitions --passwords same-as-user)" \
        || die "rabbitmq: deploy/rabbitmq/identities.py failed (it needs python3 >= 3.11)"
    want="$(printf '%s\n' "$defs" | sha256sum)"
    want="${want%% *}"
    if [ "$RABBIT_STARTED" -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        log rabbitmq "broker identities in place (deploy/rabbitmq/identities.toml)"
        return 0
    fi
    ctl="$(sbin rabbitmqctl)" || die "rabbitmqctl not found"
    as_root python3 "$py" apply --passwords same-as-user --rabbitmqctl "$ctl" >/dev/null \
        || die "rabbitmq: applying the broker identities failed (deploy/rabbitmq/identities.py apply)"
    mkdir -p "$(dirname "$stamp")"
    printf '%s\n' "$want" >"$stamp"
    log rabbitmq "broker identities applied (deploy/rabbitmq/identities.toml; local password = user name)"
}

# The retention policy of the dead-letter queues restance.<service>.dead ([dead_letters] in
# deploy/rabbitmq/identities.toml: message TTL, max length, overflow drop-head) on vhost /. Set
# with rabbitmqctl set_policy (identities.py policy; the same policy again changes nothing) when
# the table's values changed since the last run or this run started the broker; else nothing is
# done. Remove the stamp to set it again. Other exchanges' queues (the demo's restance-demo, the
# tests' test-…) are not matched.
ensure_dead_letter_policy() {
    local py="$HERE/../rabbitmq/identities.py" stamp="$RESTANCE_TOOLS_DIR/rabbitmq/dead-letter-policy.sha256"
    local policy want ctl said
    policy="$(python3 "$py" policy --print)" \
        || die "rabbitmq: deploy/rabbitmq/identities.py policy --print failed"
    want="$(printf '%s\n' "$policy" | sha256sum)"
    want="${want%% *}"
    if [ "$RABBIT_STARTED" -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        log rabbitmq "dead-letter retention policy in place"
        return 0
    fi
    ctl="$(sbin rabbitmqctl)" || die "rabbitmqctl not found"
    said="$(as_root python3 "$py" policy --rabbitmqctl "$ctl")" \
        || die "rabbitmq: setting the dead-letter retention policy failed (deploy/rabbitmq/identities.py policy)"
    mkdir -p "$(dirname "$stamp")"
    printf '%s\n' "$want" >"$stamp"
    log rabbitmq "$said"
}

# ---------------------------------------------------------------- PostgreSQL
pg_ok() { # connects over TCP as postgres without a password?
    PGPASSWORD='' PGCONNECT_TIMEOUT=5 psql -X -w -h 127.0.0.1 -p 5432 -U postgres -d postgres \
        -Atc 'select 1' >/dev/null 2>&1
}

pg_version() { # newest cluster configured, else newest server installed
    local v
    v="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf "%f\n" 2>/dev/null | sort -V | tail -n 1 || true)"
    [ -n "$v" ] || v="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf "%f\n" 2>/dev/null | sort -V | tail -n 1 || true)"
    printf '%s\n' "$v"
}

ensure_postgres() {
    if have psql && port_open 127.0.0.1 5432 && pg_ok; then
        log postgres "running (127.0.0.1:5432, trust for postgres)"
        return 0
    fi
    local ver
    ver="$(pg_version)"
    if [ -z "$ver" ] || [ ! -x "/usr/lib/postgresql/$ver/bin/postgres" ]; then
        apt_install postgresql postgresql-client
        ver="$(pg_version)"
    fi
    [ -n "$ver" ] || die "postgres: no PostgreSQL server found after installing the package"
    have psql || apt_install postgresql-client
    if [ ! -f "/etc/postgresql/$ver/main/postgresql.conf" ]; then
        log postgres "creating cluster $ver/main"
        as_root pg_createcluster --port 5432 "$ver" main >/dev/null \
            || die "postgres: pg_createcluster $ver main failed"
    fi
    local port online=0
    port="$(pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1==v && $2=="main" {print $3}')"
    if pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1==v && $2=="main" && $4 ~ /online/ {f=1} END {exit !f}'; then
        online=1
    fi
    if [ -n "$port" ] && [ "$port" != 5432 ]; then
        # pg_createcluster picks another port when 5432 was busy at install time
        if port_open 127.0.0.1 5432; then
            die "postgres: something else listens on 127.0.0.1:5432 and refuses postgres without a password (cluster $ver/main uses port $port)"
        fi
        log postgres "moving cluster $ver/main from port $port to 5432"
        as_root pg_conftool "$ver" main set port 5432 || die "postgres: cannot set port 5432 for $ver/main"
        if [ "$online" -eq 1 ]; then
            as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main restart \
                || die "postgres: pg_ctlcluster $ver main restart failed (see /var/log/postgresql/postgresql-$ver-main.log)"
        fi
    fi
    if [ "$online" -eq 0 ]; then
        log postgres "starting cluster $ver/main"
        as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start \
            || die "postgres: pg_ctlcluster $ver main start failed (see /var/log/postgresql/postgresql-$ver-main.log)"
    fi
    if ! wait_for 60 "postgres port" port_open 127.0.0.1 5432; then
        die "postgres: cluster $ver/main is not listening on 127.0.0.1:5432 after 60 s (see /var/log/postgresql/postgresql-$ver-main.log)"
    fi
    if ! wait_for 10 "postgres login" pg_ok; then
        # first rule that matches wins: put trust for postgres on loopback in front
        local hba="/etc/postgresql/$ver/main/pg_hba.conf"
        [ -f "$hba" ] || die "postgres: $hba not found; cannot enable trust auth for postgres@127.0.0.1"
        if ! grep -q 'restance: local test access' "$hba"; then
            log postgres "enabling trust auth for postgres on 127.0.0.1 and ::1 in $hba"
            local tmp
            tmp="$(mktemp)"
            {
                echo '# restance: local test access (deploy/local/ensure-services.sh)'
                echo 'host    all    postgres    127.0.0.1/32    trust'
                echo 'host    all    postgres    ::1/128         trust'
                cat "$hba"
            } >"$tmp"
            as_root cp "$tmp" "$hba"
            rm -f "$tmp"
        fi
        as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >/dev/null 2>&1 || true
        wait_for 10 "postgres login" pg_ok \
            || die "postgres: cannot log in as postgres on 127.0.0.1:5432 without a password (check $hba)"
    fi
    log postgres "running (127.0.0.1:5432, cluster $ver/main, trust for postgres)"
}

# ---------------------------------------------------------------- SMTP sink
smtp_banner() { # the 220 greeting of whatever listens on the SMTP port
    local line=""
    exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT" || return 1
    IFS= read -r -t 5 line <&3 || true
    printf 'QUIT\r\n' >&3 2>/dev/null || true
    exec 3<&- 3>&-
    printf '%s\n' "${line%$'\r'}"
}

smtp_start() {
    local venv
    venv="$(restance_venv smtp "aiosmtpd==$AIOSMTPD_VERSION")"
    mkdir -p "$SMTP_STATE" "$SMTP_DIR"
    # run a copy, so the server does not depend on this checkout staying where it is
    install -m 0755 "$HERE/smtp-sink.py" "$SMTP_STATE/smtp-sink.py"
    rm -f "$SMTP_STATE/smtp.pid"
    nohup setsid "$venv/bin/python" "$SMTP_STATE/smtp-sink.py" --host 127.0.0.1 --port "$SMTP_PORT" \
        --spool "$SMTP_DIR" --pidfile "$SMTP_STATE/smtp.pid" \
        >>"$SMTP_STATE/smtp.log" 2>&1 </dev/null &
    disown || true
    if ! wait_for 20 "smtp" port_open 127.0.0.1 "$SMTP_PORT"; then
        echo "--- last lines of $SMTP_STATE/smtp.log:" >&2
        tail -n 20 "$SMTP_STATE/smtp.log" >&2 || true
        die "smtp: test server did not come up on 127.0.0.1:$SMTP_PORT"
    fi
}

ensure_smtp() {
    local banner want
    mkdir -p "$SMTP_DIR"
    want="spool=$(cd "$SMTP_DIR" && pwd -P)"
    if port_open 127.0.0.1 "$SMTP_PORT"; then
        banner="$(smtp_banner || true)"
        case "$banner" in
            *"restance-smtp-sink $want") ;;
            *restance-smtp-sink*)
                # ours, but writing elsewhere (RESTANCE_SMTP_DIR changed): restart it when we own it
                if [ -f "$SMTP_STATE/smtp.pid" ]; then
                    log smtp "restarting: running server has ${banner##* }, want $want"
                    "$HERE/stop-smtp.sh" >/dev/null
                    smtp_start
                else
                    die "smtp: a restance-smtp-sink started elsewhere listens on $SMTP_PORT with ${banner##* }; stop it first"
                fi
                ;;
            *) die "smtp: port $SMTP_PORT is taken by another server (greeting: '${banner:-none}'); stop it or set RESTANCE_SMTP_PORT" ;;
        esac
    else
        log smtp "starting test server (aiosmtpd $AIOSMTPD_VERSION)"
        smtp_start
    fi
    log smtp "running (127.0.0.1:$SMTP_PORT, mail written to $SMTP_DIR/*.eml)"
}

# ---------------------------------------------------------------- poppler (PDF tools for tests)
ensure_poppler() {
    if ! have pdftotext || ! have pdfinfo || ! have pdffonts; then
        apt_install poppler-utils
        have pdftotext || die "poppler: pdftotext not found after installing poppler-utils"
    fi
    log poppler "installed ($(pdftotext -v 2>&1 | sed -n 1p))"
}

# ---------------------------------------------------------------- main
services=("$@")
[ "${#services[@]}" -gt 0 ] || services=(rabbitmq postgres smtp poppler)
for s in "${services[@]}"; do
    case "$s" in
        rabbitmq | rabbit) ensure_rabbitmq && ensure_identities && ensure_dead_letter_policy ;;
        postgres | postgresql | pg) ensure_postgres ;;
        smtp | mail) ensure_smtp ;;
        poppler | pdf) ensure_poppler ;;
        *) die "unknown service '$s' (known: rabbitmq postgres smtp poppler)" ;;
    esac
done
# they keep running after the task that needed them: say so, and how to stop each
for s in "${services[@]}"; do
    case "$s" in
        rabbitmq | rabbit) log left-running "RabbitMQ (stop: rabbitmqctl stop)" ;;
        postgres | postgresql | pg) log left-running "PostgreSQL (stop: pg_ctlcluster <version> main stop)" ;;
        smtp | mail) log left-running "the SMTP test server on 127.0.0.1:$SMTP_PORT (stop: just smtp-stop)" ;;
    esac
done
