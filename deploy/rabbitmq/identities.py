#!/usr/bin/env python3
"""One broker identity per party on the bus: RabbitMQ users, permissions and topic permissions
made from the table deploy/rabbitmq/identities.toml (issue 18, item 2).

usage: identities.py COMMAND [options]

  definitions   print RabbitMQ definitions (vhost, exchanges, users, permissions, topic
                permissions) as JSON; options below
  write         regenerate deploy/rabbitmq/definitions.json (vhost /, exchange restance, users
                without a password)
  check         definitions.json is what `write` makes, and every identity publishes exactly the
                types asyncapi.yaml gives its sender (needs PyYAML; deploy/k8s-validate.sh runs it)
  apply         import the definitions into the local broker (rabbitmqctl import_definitions; as
                root, or through sudo -n) and wait until every user can be found
  remove        delete the users (and with --delete-vhost the vhost) from the local broker
  table         print the table as JSON: per identity its user, role, secret key, publishes,
                consumes (the tests read it)

options (definitions, apply, remove, table):
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

Permissions per role (E = the exchange; RabbitMQ's access-control table: declaring needs
configure, a queue with a dead-letter exchange also read on the queue and write on that exchange,
binding write on the queue and read on the exchange, publishing write on the exchange and the
topic permission on the routing key, consuming and basic.get read on the queue):

  service S   configure, write, read: ^(E|E\\.dead|E\\.S|E\\.S\\.[^.]+)$
              topic E: write = its published types, read = the binding keys of its queue
  scheduler   configure ^(E|E\\.dead)$ (Restance's publisher declares both), write ^E$, read none;
              topic E: write = its types, read none
  publisher   configure none, write ^E$, read none; topic E: write = its types, read none
  operator    configure ^(E|E\\.dead)$, write ^E$, read ^E\\.[^.]+\\.dead$ (the dead-letter queues);
              topic E: write = every type some service consumes, read none
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
ROLES = ("service", "scheduler", "publisher", "operator")
NOTHING = "^$"  # RabbitMQ: matches no resource name


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
        for key in ("publishes", "consumes"):
            values = ident.get(key, [])
            if len(set(values)) != len(values):
                problems.append(f"{name}: {key} lists a type twice")
    if problems:
        sys.exit("identities.toml: " + "; ".join(problems))
    consumed = sorted({t for i in table.values() for t in i.get("consumes", [])})
    for ident in table.values():
        ident.setdefault("consumes", [])
        if ident["role"] == "operator":
            ident["publishes"] = consumed
    return table


def rx(name: str) -> str:
    """A literal name inside a regular expression."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in name)


def one_of(names: list[str]) -> str:
    return "^(" + "|".join(rx(n) for n in sorted(names)) + ")$" if names else NOTHING


def permissions(name: str, role: str, exchange: str) -> tuple[str, str, str]:
    """(configure, write, read) of an identity."""
    e, dead = rx(exchange), rx(exchange + ".dead")
    exchanges = f"^({e}|{dead})$"
    if role == "service":
        own = f"^({e}|{dead}|{e}\\.{rx(name)}|{e}\\.{rx(name)}\\.[^.]+)$"
        return own, own, own
    if role == "scheduler":
        return exchanges, f"^{e}$", NOTHING
    if role == "publisher":
        return NOTHING, f"^{e}$", NOTHING
    return exchanges, f"^{e}$", f"^{e}\\.[^.]+\\.dead$"


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
        configure, write, read = permissions(name, ident["role"], args.exchange)
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
    return {
        "rabbit_version": RABBIT_VERSION,
        "users": users,
        "vhosts": [{"name": args.vhost}],
        "permissions": perms,
        "topic_permissions": topics,
        "exchanges": exchanges,
        "queues": [],
        "bindings": [],
        "policies": [],
    }


def dumps(d: dict) -> str:
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def committed_args():
    return argparse.Namespace(vhost="/", exchange="restance", user_prefix="",
                              passwords="none", no_exchanges=False, observer=None)


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
    for op, v in spec["operations"].items():
        if v["action"] != "send":
            continue
        sender = op.split("Send", 1)[0]
        sends.setdefault(sender, set()).add(address[v["channel"]["$ref"].rsplit("/", 1)[-1]])
    known = set(address.values())
    table = load_table()
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
    not_yet = {"benefits", "immigration", "guarantee"}  # identities.toml says why
    for sender in sorted(set(sends) - covered - not_yet):
        problems.append(f"asyncapi.yaml's sender {sender} has no identity in identities.toml")
    for p in problems:
        print(f"identities: {p}", file=sys.stderr)
    if not problems:
        print(f"identities: {len(table)} identities; definitions.json up to date; publishers "
              "match asyncapi.yaml")
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("command", choices=["definitions", "write", "check", "apply", "remove", "table"])
    ap.add_argument("--vhost", default="/")
    ap.add_argument("--exchange", default="restance")
    ap.add_argument("--user-prefix", default="")
    ap.add_argument("--passwords", default="none")
    ap.add_argument("--no-exchanges", action="store_true")
    ap.add_argument("--observer")
    ap.add_argument("--delete-vhost", action="store_true")
    ap.add_argument("--rabbitmqctl")
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
    else:
        table = load_table()
        out = {name: {"user": args.user_prefix + i["user"], "role": i["role"],
                      "secret_key": i.get("secret_key"), "publishes": i["publishes"],
                      "consumes": i["consumes"]} for name, i in table.items()}
        sys.stdout.write(dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
