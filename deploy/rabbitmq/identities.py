#!/usr/bin/env python3
"""One broker identity per party on the bus: RabbitMQ users, permissions and topic permissions
made from the table deploy/rabbitmq/identities.toml (issue 18, item 2), and the retention policy
of the dead-letter queues ([dead_letters] in the same file; issue 18, item 6).

usage: identities.py COMMAND [options]

  definitions   print RabbitMQ definitions (vhost, exchanges, users, permissions, topic
                permissions, the dead-letter retention policy) as JSON; options below
  write         regenerate deploy/rabbitmq/definitions.json (vhost /, exchange restance, users
                without a password)
  check         definitions.json is what `write` makes, and every identity publishes exactly the
                types asyncapi.yaml gives its sender (needs PyYAML; deploy/k8s-validate.sh runs it)
  apply         import the definitions into the local broker (rabbitmqctl import_definitions; as
                root, or through sudo -n) and wait until every user can be found
  remove        delete the users (and with --delete-vhost the vhost) from the local broker
  policy        set the dead-letter retention policy on the local broker (rabbitmqctl set_policy;
                idempotent: the same policy again changes nothing); --print prints the policy as
                JSON instead, --clear removes it (rabbitmqctl clear_policy; a missing one is fine)
  table         print the table as JSON: per identity its user, role, secret key, publishes,
                consumes (the tests read it)

options (definitions, apply, remove, table, policy):
  --vhost NAME          the virtual host (default /)
  --exchange NAME       the main exchange the permissions name (default restance; the dead-letter
                        exchange is NAME.dead and the queues NAME.<service>…)
  --user-prefix TEXT    put TEXT before every user name (tests use a unique prefix)
  --passwords MODE      none: users without a password (password_hash "": nobody can log in
                        until a password is set; the committed definitions.json);
                        same-as-user: each password is the user name (local machine and tests only);
                        file:PATH: lines `USER PASSWORD` (a deployment's; the output then holds
                        salted SHA-256 hashes: keep it as secret as the passwords)
  --no-exchanges        leave the exchanges out (they exist already)
  --observer USER       also give the existing user USER every permission on the vhost (a test's
                        probe queue; never for a deployment)
  --rabbitmqctl PATH    the rabbitmqctl to run (default: found on PATH or in /usr/sbin)
  --dead-ttl-ms MS      the dead letters' message TTL in milliseconds instead of the table's
                        message_ttl_days (tests)
  --dead-max-length N   the dead-letter queues' max length instead of the table's max_length (tests)

Permissions per role (E = the exchange; RabbitMQ's access-control table: declaring needs
configure, a queue with a dead-letter exchange also read on the queue and write on that exchange,
binding write on the queue and read on the exchange, publishing write on the exchange and the
topic permission on the routing key, consuming and basic.get read on the queue):

  service S   configure ^(E\\.S|E\\.S\\.[^.]+)$ (its queues);
              write, read ^(E|E\\.dead|E\\.S|E\\.S\\.[^.]+)$
              topic E: write = its published types, read = the binding keys of its queue
  scheduler   configure none, write ^E$, read none; topic E: write = its types, read none
  publisher   configure none, write ^E$, read none; topic E: write = its types, read none
  operator    configure none, write ^E$, read the services' dead-letter queues E.S.dead;
              topic E: write = every type some service consumes, read none
  consumer C  an outside consumer (the collection authority's intake): configure none, write
              none, read ^(E\\.C|E\\.C\\.dead)$; topic E: write none, read = its types. Its queue
              E.C (bound to its types only) and dead-letter queue E.C.dead (on E.dead) are in the
              definitions (queues, bindings), so they exist before anything is published to them

No identity has configure on the exchanges E and E.dead (so none can delete or redeclare them):
the definitions create them, and Restance's bus declares them passively, which needs no
permission (it declares them for real only where they are missing: a development broker).

The dead-letter retention policy (vhost as given, name E-dead-letter-retention): pattern
^E\\.[^.]+\\.dead$ (the dead-letter queues E.<service>.dead and nothing else), apply-to queues,
priority 10, definition message-ttl (message_ttl_days in ms), max-length, overflow drop-head
(RabbitMQ 3.10 or later: message-ttl on quorum queues came with 3.10).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TABLE = HERE / "identities.toml"
DEFINITIONS = HERE / "definitions.json"
ASYNCAPI = ROOT / "shared" / "contracts" / "asyncapi.yaml"
RABBIT_VERSION = "3.10.8"
ROLES = ("service", "scheduler", "publisher", "operator", "consumer")
NOTHING = "^$"  # RabbitMQ: matches no resource name
DAY_MS = 24 * 60 * 60 * 1000
# a consumer's queue: the delivery limit of Restance's own queues (BusSettings, bus.delivery_limit)
CONSUMER_DELIVERY_LIMIT = 10
# The policy wins over a catch-all policy (priority 0) an operator may have on the broker; only
# one policy applies to a queue, the one of highest priority.
DEAD_LETTER_POLICY_PRIORITY = 10


def load_table() -> dict[str, dict]:
    with open(TABLE, "rb") as f:
        table = tomllib.load(f)["identities"]
    problems = []
    for name, ident in table.items():
        role = ident.get("role")
        if role not in ROLES:
            problems.append(f"{name}: role {role!r} is none of {ROLES}")
        if role == "service" and not ident.get("consumes"):
            problems.append(f"{name}: a service consumes something")
        if role in ("service", "scheduler", "publisher") and not ident.get("publishes"):
            problems.append(f"{name}: lists nothing it publishes")
        if role == "consumer" and (ident.get("publishes") or not ident.get("consumes")):
            problems.append(f"{name}: a consumer publishes nothing and consumes something")
        if role == "consumer" and "secret_key" in ident:
            problems.append(f"{name}: a consumer runs outside Restance (no secret_key)")
        for key in ("publishes", "consumes"):
            values = ident.get(key, [])
            if len(set(values)) != len(values):
                problems.append(f"{name}: {key} lists a type twice")
    if problems:
        sys.exit("identities.toml: " + "; ".join(problems))
    # the operator may publish what Restance's services consume — not what only an outside
    # consumer takes (no operator can forge a transfer to the collection authority)
    consumed = sorted({t for i in table.values() if i["role"] == "service"
                       for t in i.get("consumes", [])})
    for ident in table.values():
        ident.setdefault("consumes", [])
        ident.setdefault("publishes", [])
        if ident["role"] == "operator":
            ident["publishes"] = consumed
    return table


def load_dead_letters() -> dict[str, int]:
    """The [dead_letters] section: message_ttl_days and max_length, positive integers."""
    with open(TABLE, "rb") as f:
        section = tomllib.load(f).get("dead_letters")
    if not isinstance(section, dict):
        sys.exit("identities.toml: no [dead_letters] section (message_ttl_days, max_length)")
    problems = []
    for key in ("message_ttl_days", "max_length"):
        v = section.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            problems.append(f"[dead_letters] {key} = {v!r}: want a whole number of at least 1")
    unknown = set(section) - {"message_ttl_days", "max_length"}
    if unknown:
        problems.append(f"[dead_letters]: unknown keys {sorted(unknown)}")
    # RabbitMQ refuses a queue argument x-message-ttl above ten years (rabbit_misc:check_expiry)
    if not problems and section["message_ttl_days"] > 3650:
        problems.append("[dead_letters] message_ttl_days: at most 3650 (ten years)")
    if problems:
        sys.exit("identities.toml: " + "; ".join(problems))
    return section


def dead_letter_policy(args) -> dict:
    """The retention policy of the dead-letter queues, as an entry of definitions' "policies"."""
    section = load_dead_letters()
    ttl_ms = (args.dead_ttl_ms if args.dead_ttl_ms is not None
              else section["message_ttl_days"] * DAY_MS)
    max_length = (args.dead_max_length if args.dead_max_length is not None
                  else section["max_length"])
    if ttl_ms < 1 or max_length < 1:
        sys.exit("--dead-ttl-ms and --dead-max-length: want at least 1")
    return {
        "vhost": args.vhost,
        "name": f"{args.exchange}-dead-letter-retention",
        "pattern": f"^{rx(args.exchange)}\\.[^.]+\\.dead$",
        "apply-to": "queues",
        "priority": DEAD_LETTER_POLICY_PRIORITY,
        "definition": {"message-ttl": ttl_ms, "max-length": max_length, "overflow": "drop-head"},
    }


def rx(name: str) -> str:
    """A literal name inside a regular expression."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in name)


def one_of(names: list[str]) -> str:
    return "^(" + "|".join(rx(n) for n in sorted(names)) + ")$" if names else NOTHING


def permissions(name: str, role: str, exchange: str,
                services: list[str]) -> tuple[str, str, str]:
    """(configure, write, read) of an identity. Nobody has configure on the exchanges: the
    definitions create them, and Restance's bus declares them passively (shared/bus topology.rs),
    which needs no permission — so no identity can delete or redeclare them."""
    e, dead = rx(exchange), rx(exchange + ".dead")
    if role == "service":
        queues = f"^({e}\\.{rx(name)}|{e}\\.{rx(name)}\\.[^.]+)$"
        own = f"^({e}|{dead}|{e}\\.{rx(name)}|{e}\\.{rx(name)}\\.[^.]+)$"
        return queues, own, own
    if role in ("scheduler", "publisher"):
        return NOTHING, f"^{e}$", NOTHING
    if role == "consumer":
        # its queue and dead-letter queue come with the definitions: it only reads them
        return NOTHING, NOTHING, one_of([f"{exchange}.{name}", f"{exchange}.{name}.dead"])
    # the operator: the services' dead-letter queues (not an outside consumer's)
    return NOTHING, f"^{e}$", one_of([f"{exchange}.{s}.dead" for s in services])


def consumer_queues(table: dict[str, dict], args) -> tuple[list[dict], list[dict]]:
    """(queues, bindings) of the consumers: each one's queue E.<name>, bound to its types only,
    and its dead-letter queue E.<name>.dead on E.dead — in the definitions, so the queue exists
    (and keeps what is published) before the consumer first connects. The arguments are those
    Restance's own queues have (shared/bus topology.rs: quorum, delivery limit, at-least-once
    dead-lettering), the consumer's own being unknown here: a consumer that declares its queue
    must declare it passively, or with exactly these arguments."""
    queues, bindings = [], []
    for name, ident in table.items():
        if ident["role"] != "consumer":
            continue
        queue, dead = f"{args.exchange}.{name}", f"{args.exchange}.{name}.dead"
        queues.append({"name": queue, "vhost": args.vhost, "durable": True,
                       "auto_delete": False,
                       "arguments": {"x-queue-type": "quorum",
                                     "x-delivery-limit": CONSUMER_DELIVERY_LIMIT,
                                     "x-dead-letter-exchange": args.exchange + ".dead",
                                     "x-dead-letter-routing-key": dead,
                                     "x-dead-letter-strategy": "at-least-once",
                                     "x-overflow": "reject-publish"}})
        queues.append({"name": dead, "vhost": args.vhost, "durable": True,
                       "auto_delete": False, "arguments": {"x-queue-type": "quorum"}})
        for key in ident["consumes"]:
            bindings.append({"source": args.exchange, "vhost": args.vhost,
                             "destination": queue, "destination_type": "queue",
                             "routing_key": key, "arguments": {}})
        bindings.append({"source": args.exchange + ".dead", "vhost": args.vhost,
                         "destination": dead, "destination_type": "queue",
                         "routing_key": dead, "arguments": {}})
    return queues, bindings


def password_hash(password: str, salt: bytes) -> str:
    """rabbit_password_hashing_sha256: base64(salt ‖ sha256(salt ‖ password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def read_passwords(path: str) -> dict[str, str]:
    out = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, _, password = line.partition(" ")
        if not password.strip():
            sys.exit(f"{path}:{n}: want `USER PASSWORD`")
        out[user] = password.strip()
    return out


def definitions(args) -> dict:
    table = load_table()
    mode = args.passwords
    given = read_passwords(mode[5:]) if mode.startswith("file:") else {}
    if mode not in ("none", "same-as-user") and not mode.startswith("file:"):
        sys.exit(f"--passwords {mode}: want none, same-as-user or file:PATH")
    users, perms, topics = [], [], []
    services = [name for name, i in table.items() if i["role"] == "service"]
    for name, ident in table.items():
        user = args.user_prefix + ident["user"]
        if mode == "none":
            hashed = ""
        elif mode == "same-as-user":
            # a fixed salt: the same output every run (ensure-services.sh compares it)
            hashed = password_hash(user, hashlib.sha256(user.encode()).digest()[:4])
        else:
            if user not in given:
                sys.exit(f"{mode[5:]}: no password for {user}")
            hashed = password_hash(given[user], secrets.token_bytes(4))
        users.append({"name": user, "password_hash": hashed,
                      "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []})
        configure, write, read = permissions(name, ident["role"], args.exchange, services)
        perms.append({"user": user, "vhost": args.vhost,
                      "configure": configure, "write": write, "read": read})
        topics.append({"user": user, "vhost": args.vhost, "exchange": args.exchange,
                       "write": one_of(ident["publishes"]), "read": one_of(ident["consumes"])})
    if args.observer:
        perms.append({"user": args.observer, "vhost": args.vhost,
                      "configure": ".*", "write": ".*", "read": ".*"})
    exchanges = [] if args.no_exchanges else [
        {"name": args.exchange, "vhost": args.vhost, "type": "topic", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}},
        {"name": args.exchange + ".dead", "vhost": args.vhost, "type": "direct", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}},
    ]
    queues, bindings = consumer_queues(table, args)
    return {
        "rabbit_version": RABBIT_VERSION,
        "users": users,
        "vhosts": [{"name": args.vhost}],
        "permissions": perms,
        "topic_permissions": topics,
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
        "policies": [dead_letter_policy(args)],
    }


def dumps(d: dict) -> str:
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def committed_args():
    return argparse.Namespace(vhost="/", exchange="restance", user_prefix="",
                              passwords="none", no_exchanges=False, observer=None,
                              dead_ttl_ms=None, dead_max_length=None)


def rabbitmqctl(args) -> list[str]:
    ctl = args.rabbitmqctl or shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    if not os.path.exists(ctl) and not shutil.which(ctl):
        sys.exit("rabbitmqctl not found (deploy/local/ensure-services.sh rabbitmq installs it)")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    return prefix + [ctl, "-q"]


def ctl_run(args, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(rabbitmqctl(args) + list(argv), capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        sys.exit(f"rabbitmqctl {' '.join(argv)} failed ({p.returncode}): "
                 f"{(p.stderr or p.stdout).strip()}")
    return p


def apply(args) -> None:
    d = definitions(args)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(dumps(d))
        path = f.name
    try:
        os.chmod(path, 0o644)  # rabbitmqctl may run as another user (sudo)
        ctl_run(args, "import_definitions", path)
    finally:
        os.unlink(path)
    # The import may finish after the command returns: wait until the broker lists every
    # user's topic permissions in the vhost (the last thing imported).
    want = {u["name"] for u in d["users"]}
    deadline = time.monotonic() + 30
    while True:
        p = ctl_run(args, "list_topic_permissions", "-p", args.vhost, "--no-table-headers",
                    check=False)
        have = {line.split("\t")[0] for line in p.stdout.splitlines() if line.strip()}
        if want <= have:
            break
        if time.monotonic() > deadline:
            sys.exit(f"the broker does not list {sorted(want - have)} 30 s after the import")
        time.sleep(0.2)
    print(f"applied {len(want)} identities to vhost {args.vhost} (exchange {args.exchange})")


def policy(args) -> None:
    """Sets (or with --clear removes) the dead-letter retention policy on the local broker."""
    p = dead_letter_policy(args)
    if args.print:
        sys.stdout.write(dumps(p))
        return
    if args.clear:
        got = ctl_run(args, "clear_policy", "-p", p["vhost"], p["name"], check=False)
        missing = ("does not exist", "not found")  # rabbitmqctl 3.10: "Parameter does not exist"
        if got.returncode != 0 and not any(m in (got.stderr + got.stdout).lower() for m in missing):
            sys.exit(f"rabbitmqctl clear_policy failed ({got.returncode}): "
                     f"{(got.stderr or got.stdout).strip()}")
        print(f"cleared policy {p['name']} on vhost {p['vhost']}")
        return
    ctl_run(args, "set_policy", "-p", p["vhost"], "--priority", str(p["priority"]),
            "--apply-to", p["apply-to"], p["name"], p["pattern"],
            json.dumps(p["definition"], sort_keys=True))
    d = p["definition"]
    ttl = d["message-ttl"]
    kept = f"{ttl // DAY_MS} days" if ttl % DAY_MS == 0 else f"{ttl} ms"
    print(f"dead-letter retention policy {p['name']} set on vhost {p['vhost']}: the queues "
          f"{p['pattern']} keep a dead letter {kept}, at most {d['max-length']} per queue "
          f"(the oldest go first)")


def erlang_binary(text: str) -> str:
    return "<<\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"/utf8>>"


def remove(args) -> None:
    """Deletes the users (a missing one is skipped) and, with --delete-vhost, the vhost: in one
    `rabbitmqctl eval` (a rabbitmqctl call is about a second; one per user would be ten)."""
    users = ", ".join(erlang_binary(args.user_prefix + i["user"]) for i in load_table().values())
    actor = erlang_binary("restance-identities")
    expr = (f"_ = [catch rabbit_auth_backend_internal:delete_user(U, {actor}) || U <- [{users}]], ")
    if args.delete_vhost and args.vhost != "/":
        expr += f"_ = (catch rabbit_vhost:delete({erlang_binary(args.vhost)}, {actor})), "
    ctl_run(args, "eval", expr + "ok.")
    print(f"removed the identities{' and vhost ' + args.vhost if args.delete_vhost else ''}")


def check_dead_letter_policy(table: dict[str, dict]) -> list[str]:
    """The committed policy matches every service's dead-letter queue and no other name."""
    import re

    problems = []
    p = dead_letter_policy(committed_args())
    pattern = re.compile(p["pattern"])
    services = [name for name, i in table.items() if i["role"] == "service"]
    for s in services:
        if not pattern.search(f"restance.{s}.dead"):
            problems.append(f"the dead-letter policy's pattern {p['pattern']} misses "
                            f"restance.{s}.dead")
        for other in (f"restance.{s}", f"restance.{s}.daily", f"restance-demo.{s}.dead",
                      f"test-0123456789ab.{s}.dead", f"restance.{s}.dead.x", "restance.dead"):
            if pattern.search(other):
                problems.append(f"the dead-letter policy's pattern {p['pattern']} also matches "
                                f"{other}")
    return problems


def check() -> int:
    import yaml  # the k8s tools venv has it

    problems = []
    want = dumps(definitions(committed_args()))
    if DEFINITIONS.read_text(encoding="utf-8") != want:
        problems.append("deploy/rabbitmq/definitions.json is not what identities.toml makes: "
                        "run deploy/rabbitmq/identities.py write and commit it")
    spec = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    address = {k: v["address"] for k, v in spec["channels"].items()}
    sends: dict[str, set[str]] = {}
    receives: dict[str, set[str]] = {}
    for op, v in spec["operations"].items():
        channel = address[v["channel"]["$ref"].rsplit("/", 1)[-1]]
        if v["action"] == "send":
            sends.setdefault(op.split("Send", 1)[0], set()).add(channel)
        elif "Receive" in op:
            receives.setdefault(op.split("Receive", 1)[0], set()).add(channel)
    known = set(address.values())
    table = load_table()
    problems += check_dead_letter_policy(table)
    covered = set()
    for name, ident in table.items():
        for key in ("publishes", "consumes"):
            for t in ident[key]:
                if t not in known:
                    problems.append(f"{name}: {key} names {t}, which asyncapi.yaml does not have")
        if ident["role"] == "operator":
            continue
        sender = ident.get("asyncapi_sender", name)
        covered.add(sender)
        got, spec_sends = set(ident["publishes"]), sends.get(sender, set())
        if got != spec_sends:
            problems.append(f"{name}: publishes {sorted(got - spec_sends)} beyond and lacks "
                            f"{sorted(spec_sends - got)} of asyncapi.yaml's sender {sender}")
        # what a service binds is what asyncapi.yaml says it receives (external systems and
        # the operators' identities are not receivers there)
        if ident["role"] == "service" and name in receives:
            got, spec_receives = set(ident["consumes"]), receives[name]
            if got != spec_receives:
                problems.append(f"{name}: consumes {sorted(got - spec_receives)} beyond and "
                                f"lacks {sorted(spec_receives - got)} of asyncapi.yaml's "
                                f"receive operations of {name}")
    for sender in sorted(set(sends) - covered):
        problems.append(f"asyncapi.yaml's sender {sender} has no identity in identities.toml")
    for p in problems:
        print(f"identities: {p}", file=sys.stderr)
    if not problems:
        d = dead_letter_policy(committed_args())["definition"]
        print(f"identities: {len(table)} identities; definitions.json up to date; publishers "
              f"and consumers match asyncapi.yaml; dead letters kept {d['message-ttl'] // DAY_MS} days, at most "
              f"{d['max-length']} per queue")
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("command", choices=["definitions", "write", "check", "apply", "remove", "table",
                                        "policy"])
    ap.add_argument("--vhost", default="/")
    ap.add_argument("--exchange", default="restance")
    ap.add_argument("--user-prefix", default="")
    ap.add_argument("--passwords", default="none")
    ap.add_argument("--no-exchanges", action="store_true")
    ap.add_argument("--observer")
    ap.add_argument("--delete-vhost", action="store_true")
    ap.add_argument("--rabbitmqctl")
    ap.add_argument("--dead-ttl-ms", type=int)
    ap.add_argument("--dead-max-length", type=int)
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--clear", action="store_true")
    args = ap.parse_args()
    if args.command == "definitions":
        sys.stdout.write(dumps(definitions(args)))
    elif args.command == "write":
        DEFINITIONS.write_text(dumps(definitions(committed_args())), encoding="utf-8")
        print(f"wrote {DEFINITIONS.relative_to(ROOT)}")
    elif args.command == "check":
        return check()
    elif args.command == "apply":
        apply(args)
    elif args.command == "remove":
        remove(args)
    elif args.command == "policy":
        policy(args)
    else:
        table = load_table()
        out = {name: {"user": args.user_prefix + i["user"], "role": i["role"],
                      "secret_key": i.get("secret_key"), "publishes": i["publishes"],
                      "consumes": i["consumes"]} for name, i in table.items()}
        sys.stdout.write(dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
