#!/usr/bin/env python3
"""The demo's eyes: waits for the services and shows what they did (`deploy/local/demo.sh`).

Each subcommand is one step of the demo. It prints what a newcomer should see and, for what can
be counted, a line `demo: <name>=<count>` (`just demo-check` compares two runs by those lines).
It exits 1 with a sentence saying what is missing when there is nothing to show; it never hides
a failure behind an empty section. Only the standard library: it runs on any python3 >= 3.9.

It reads the services' HTTP APIs, the SMS gateway stand-in's log, the demo's own SMTP spool
(var/demo/mail), the rendered documents under var/demo/documents, the broker's queue depths
(rabbitmqctl) and, to know when notifications has nothing left to send, its SQLite file.
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

SERVICES = {
    "invoicing": 8081,
    "dunning": 8082,
    "agreements": 8083,
    "guarantee": 8084,
    "notifications": 8085,
    "reporting": 8086,
    "counselling": 8087,
}
CASEWORKER = os.environ.get("RESTANCE_DEMO_CASEWORKER_TOKEN", "")
ADMIN = os.environ.get("RESTANCE_DEMO_ADMIN_TOKEN", "")
# a second caseworker: a campaign is approved by another caseworker than the one who made it
SUPERVISOR = os.environ.get("RESTANCE_DEMO_SUPERVISOR_TOKEN", "")
# counsellor id -> token ("EG:token,KH:token,…"): a counselling token's name is the counsellor
COUNSELLORS = dict(
    pair.split(":", 1) for pair in os.environ.get("RESTANCE_DEMO_COUNSELLOR_TOKENS", "").split(",") if ":" in pair
)


class Missing(Exception):
    """Something the demo should show is not there; the message says what."""


def count(name: str, value) -> None:
    print(f"demo: {name}={value}")


# ------------------------------------------------------------------------------------ HTTP


def http(method: str, port: int, path: str, body=None, token: str | None = None, raw: bool = False):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("accept", "application/json")
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    # A 429 (over the API's rate for this client: restance_runtime::api_guard) is waited out as
    # its Retry-After says, as every client of the APIs should; anything else is an answer.
    for _ in range(60):
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                payload = resp.read()
            break
        except urllib.error.HTTPError as e:
            if e.code == 429:
                time.sleep(min(float(e.headers.get("retry-after") or 1), 5.0))
                continue
            detail = e.read().decode("utf-8", "replace")[:300]
            raise Missing(f"{method} :{port}{path} answered {e.code}: {detail}") from None
        except OSError as e:
            raise Missing(f"{method} :{port}{path} failed: {e}") from None
    else:
        raise Missing(f"{method} :{port}{path} was over the API's rate for a minute")
    return payload if raw else json.loads(payload)


def http_status(method: str, port: int, path: str, body=None, token: str | None = None) -> int:
    """The status of a request that is expected to be refused (a 4xx is the answer, not a failure)."""
    try:
        http(method, port, path, body, token)
        return 200
    except Missing as e:
        m = re.search(r"answered (\d{3})", str(e))
        if m:
            return int(m.group(1))
        raise


def metrics(port: int) -> dict[str, float]:
    text = http("GET", port, "/metrics", raw=True).decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


# ------------------------------------------------------------------------------------ state


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = Path(args.demo)
        self.exchange = args.exchange

    def log(self, service: str) -> str:
        try:
            return (self.dir / f"{service}.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def letters(self) -> int:
        return sum(1 for _ in (self.dir / "documents").rglob("*.pdf")) if (self.dir / "documents").exists() else 0

    def sms_lines(self) -> list[str]:
        return [l for l in self.log("sms-gateway").splitlines() if l.startswith("sms ")]

    def mails(self) -> list[Path]:
        return sorted((self.dir / "mail").glob("*.eml"))

    def queues(self) -> dict[str, int] | None:
        """Messages per queue of the demo's exchange, or None when rabbitmqctl cannot tell."""
        cmd = ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name", "messages"]
        if os.geteuid() != 0:
            cmd = ["sudo", "-n", *cmd]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0:
            return None
        found = {}
        for line in out.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].startswith(self.exchange + ".") and parts[1].isdigit():
                found[parts[0]] = int(parts[1])
        return found

    def due_deliveries(self) -> int:
        """Deliveries notifications should be working on now (pending or sending, due)."""
        db = self.dir / "notifications.db"
        if not db.exists():
            return 0
        now_ms = int(time.time() * 1000)
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute(
                "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending') AND next_attempt_ms <= ?",
                (now_ms,),
            ).fetchone()
            return int(row[0])
        except sqlite3.Error:
            return 0
        finally:
            con.close()

    def consumed(self) -> float:
        total = 0.0
        for port in SERVICES.values():
            try:
                m = metrics(port)
            except Missing:
                continue
            total += sum(v for k, v in m.items() if k.startswith("restance_bus_consumed_total"))
        return total

    def quiet_state(self):
        queues = self.queues()
        # dead letters and the demo's tap (`restance tap`: what it caught waits there to be shown)
        # are not work left to do
        busy = None if queues is None else sum(
            n for q, n in queues.items() if not q.endswith(".dead") and not q.startswith(f"{self.exchange}.tap.")
        )
        return (busy, self.consumed(), self.letters(), len(self.sms_lines()), len(self.mails()), self.due_deliveries())

    def wait_quiet(self, what: str, timeout: float = 300, still: float = 3.0) -> None:
        """Until the queues are empty, notifications has nothing due, and nothing moved for `still` s."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            state = self.quiet_state()
            busy, due = state[0], state[5]
            if state != last:
                last, since = state, time.monotonic()
            elif (busy in (0, None)) and due == 0 and time.monotonic() - since >= still:
                return
            time.sleep(0.5)
        raise Missing(f"{what}: the services were still busy after {timeout:.0f} s (queued, consumed, letters, SMS, mails, due deliveries: {last})")

    def picked(self) -> dict:
        try:
            return json.loads((self.dir / "picked-claim.json").read_text())
        except OSError:
            raise Missing("no claim with reminders was picked (the history step failed)") from None

    def upstream_debtors(self):
        """(debtor id, municipality) of the sample invoices, in publishing order, once each."""
        seen = set()
        for line in (self.dir / "upstream.jsonl").read_text().splitlines():
            if "billing.invoice.issued" not in line:
                continue
            data = json.loads(line)["data"]
            key = (data["debtor"]["id"], data["municipality"])
            if key not in seen:
                seen.add(key)
                yield key


# ------------------------------------------------------------------------------------ steps


def cmd_ready(d: Demo, _args) -> None:
    deadline = time.monotonic() + 120
    waiting = dict(SERVICES)
    while waiting and time.monotonic() < deadline:
        for name, port in list(waiting.items()):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        print(f"restance-{name} ready on :{port} (log var/demo/{name}.log, database var/demo/{name}.db)")
                        del waiting[name]
            except (OSError, urllib.error.HTTPError):
                pass
        time.sleep(0.2)
    for name in waiting:
        tail = "\n".join(d.log(name).splitlines()[-15:])
        print(f"restance-{name} did not become ready in 120 s; the end of var/demo/{name}.log:\n{tail}", file=sys.stderr)
    if waiting:
        raise Missing(f"not ready: {', '.join(waiting)}")


def cmd_settle(d: Demo, _args) -> None:
    d.wait_quiet("taking in the invoices", timeout=300)
    m = metrics(SERVICES["invoicing"])
    consumed = sum(v for k, v in m.items() if k.startswith("restance_bus_consumed_total"))
    print(f"invoicing consumed {consumed:.0f} message(s); every queue of '{d.exchange}' is empty")
    count("invoicing_consumed", f"{consumed:.0f}")


def cmd_day(d: Demo, args) -> None:
    date = args.date
    deadline = time.monotonic() + 300
    while f"business_date={date}" not in "".join(
        l for l in d.log("dunning").splitlines(True) if "daily run finished" in l
    ):
        if time.monotonic() > deadline:
            raise Missing(f"dunning did not finish the daily run of {date} in 300 s (var/demo/dunning.log)")
        time.sleep(0.5)
    d.wait_quiet(f"the day {date}", timeout=600)
    letters, sms, mails = d.letters(), len(d.sms_lines()), len(d.mails())
    print(f"after {date}: letters rendered {letters}, SMS sent {sms}, e-mails sent {mails} (all so far)")
    count(f"letters_{date}", letters)
    count(f"sms_{date}", sms)
    count(f"emails_{date}", mails)


def open_claims(debtor: str, municipality: str) -> list[dict]:
    view = http("GET", SERVICES["invoicing"], f"/api/v1/debtors/{debtor}/claims?municipality={municipality}")
    return [c for c in view["claims"] if c["state"] == "open"]


def cmd_agreements(d: Demo, _args) -> None:
    chosen = []
    for debtor, muni in d.upstream_debtors():
        if muni == "0746" and open_claims(debtor, muni):
            chosen.append(debtor)
        if len(chosen) == 3:
            break
    if len(chosen) < 3:
        raise Missing("fewer than three Skanderborg debtors with open claims in the sample")
    port, tok = SERVICES["agreements"], CASEWORKER
    plan_debtor, deferral_debtor, meeting_debtor = chosen
    print(f"-- a payment plan for {plan_debtor} from their budget (income 14.200, expenses 13.400 a month)")
    plan = http("POST", port, "/api/v1/plans", {
        "municipality": "0746", "debtor_id": plan_debtor,
        "budget": {"monthly_income": "14200.00", "monthly_expenses": "13400.00"},
        "frequency": "monthly", "first_due_date": "2027-01-04"}, tok)
    print("  ", {k: plan.get(k) for k in ("plan_id", "state", "payment_reference", "ocr_line", "total")})
    for i in plan.get("instalments", [])[:6]:
        print("    ", i.get("due_date"), i.get("amount"))
    print("     …", len(plan.get("instalments", [])), "instalments")
    count("plan_instalments", len(plan.get("instalments", [])))
    print(f"-- a deferral (henstand) for {deferral_debtor} in an acute social situation, until 2027-02-26")
    claims = [c["claim_id"] for c in open_claims(deferral_debtor, "0746")]
    deferral = http("POST", port, "/api/v1/deferrals", {
        "municipality": "0746", "debtor_id": deferral_debtor, "claim_ids": claims,
        "reason": "acute_social", "until": "2027-02-26", "note": "demo"}, tok)
    print("  ", {k: deferral.get(k) for k in ("deferral_id", "state", "from", "until")})
    print(f"-- a meeting (sættemøde) with {meeting_debtor} on 2027-01-12 09:00 with the social caseworker: an SMS confirmation now, a reminder on the 11th")
    meeting = http("POST", port, "/api/v1/meetings", {
        "municipality": "0746", "debtor_id": meeting_debtor, "at": "2027-01-12T08:00:00Z",
        "office": "main", "with_social_caseworker": True}, tok)
    print("  ", {k: meeting.get(k) for k in ("meeting_id", "state", "date", "place")})
    (d.dir / "agreements.json").write_text(json.dumps({"plan": plan_debtor, "deferral": deferral_debtor, "meeting": meeting_debtor}))
    d.wait_quiet("the agreements' confirmations", timeout=120)


def show_campaign(c: dict) -> None:
    spec = {k: c.get(k) for k in ("campaign_id", "kind", "municipality", "state", "created_by")}
    print("  ", spec)
    print("   selection:", c.get("selection"), " preview:", c.get("preview"))


def cmd_campaigns(d: Demo, _args) -> None:
    """Two campaigns (issue 22, item 5): a direct-debit drive for Skanderborg's citizens in arrears
    and a settlement visit in Sisimiut (Qeqqata); each previewed, refused to its creator, approved by
    a second caseworker, and then sent as one letter per debtor through notifications."""
    port = SERVICES["dunning"]
    made = []
    for body in (
        {"kind": "direct_debit", "municipality": "0746", "title": "Tilmeld dine regninger til Betalingsservice",
         "selection": {"debtor_kind": "person", "min_arrears": "1000.00"}, "channels": ["letter"]},
        {"kind": "settlement_visit", "municipality": "0957", "title": "Kommunip Sisimiuni tikeraarnera",
         "selection": {"office": "sisimiut"}, "deadline": "2027-01-29",
         "visit": {"dates": ["2027-01-26", "2027-01-27"], "place": "Sisimiut, bygdekontoret",
                   "slots": "kl. 9–12 og 13–15"}, "channels": ["letter"]},
    ):
        print(f"-- POST :8082/api/v1/campaigns ({body['kind']}, {body['municipality']}) by demo-caseworker")
        c = http("POST", port, "/api/v1/campaigns", body, CASEWORKER)
        show_campaign(c)
        made.append(c)
    count("campaigns", len(made))
    for c in made:
        cid = c["campaign_id"]
        status = http_status("POST", port, f"/api/v1/campaigns/{cid}/approve", {}, CASEWORKER)
        print(f"-- {cid}: approved by its own creator -> {status} (a second caseworker must approve)")
        if status != 409:
            raise Missing(f"the creator's own approval of {cid} answered {status}, not 409")
        sent = http("POST", port, f"/api/v1/campaigns/{cid}/approve", {}, SUPERVISOR)
        print(f"-- {cid}: approved by demo-supervisor:", {k: sent.get(k) for k in ("state", "sent", "approved_by")})
        count(f"campaign_{c['kind']}_debtors", int((c.get("preview") or {}).get("debtors", 0)))
    listing = http("GET", port, f"/api/v1/campaigns/{made[1]['campaign_id']}/list.csv", token=ADMIN, raw=True)
    lines = listing.decode("utf-8-sig").splitlines()
    print(f"-- the settlement office manager's list (GET …/list.csv): {len(lines) - 1} debtor(s)")
    for line in lines[:4]:
        print("   ", line[:120])


def cmd_campaign_outcome(d: Demo, _args) -> None:
    port = SERVICES["dunning"]
    listing = http("GET", port, "/api/v1/campaigns", token=ADMIN)
    items = listing.get("campaigns", listing) if isinstance(listing, dict) else listing
    for c in items:
        print(" ", c.get("campaign_id"), c.get("kind"), c.get("municipality"), "outcome:", c.get("outcome"))
    if not items:
        raise Missing("no campaign in dunning's list")
    count("campaigns_listed", len(items))


def cmd_history(d: Demo, _args) -> None:
    """The first claim (in publishing order) that received a first and a second reminder."""
    checked = 0
    debtors = sorted(d.upstream_debtors(), key=lambda dm: dm[1] != "0746")
    for debtor, muni in debtors:
        view = http("GET", SERVICES["invoicing"], f"/api/v1/debtors/{debtor}/claims?municipality={muni}")
        for claim in view["claims"]:
            checked += 1
            h = http("GET", SERVICES["dunning"], f"/api/v1/claims/{claim['claim_id']}/dunning", token=ADMIN)
            steps = [e for e in h.get("history", []) if e.get("action") == "reminder"]
            if len(steps) < 2:
                continue
            print(f"claim {claim['claim_id']} of debtor {debtor} ({muni}, {h.get('category')}): status {h.get('status')}, "
                  f"due {h.get('due_date')}, policy {h.get('policy')}")
            print(f"balance: {h.get('balance')}")
            for e in h["history"]:
                print(f"  {e.get('date')}  {e.get('action'):<22} step {e.get('step') or '-':<3} {e.get('reason', '')}  ({e.get('policy')})")
            picked = {"claim_id": claim["claim_id"], "debtor_id": debtor, "municipality": muni, "history": h["history"]}
            (d.dir / "picked-claim.json").write_text(json.dumps(picked))
            count("history_reminders", len(steps))
            return
    raise Missing(f"none of the {checked} claims had two reminders")


def document_id(notification_id: str) -> str:
    """notifications' document id of a letter: a UUID (version 8) from SHA-256("letter\\n" + id)."""
    b = bytearray(hashlib.sha256(f"letter\n{notification_id}".encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x80
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))


def cmd_letter(d: Demo, _args) -> None:
    picked = d.picked()
    first = next(e for e in picked["history"] if e.get("action") == "reminder")
    letter = (first.get("detail") or {}).get("letter") or {}
    notification = letter.get("notification_id")
    if not notification:
        raise Missing(f"the reminder's record names no letter: {json.dumps(first.get('detail'))[:200]}")
    n = http("GET", SERVICES["notifications"], f"/api/v1/notifications/{notification}")
    channels = ", ".join(f"{x.get('channel')} {x.get('status')}" for x in n.get("deliveries", []))
    doc = document_id(notification)
    pdf = http("GET", SERVICES["notifications"], f"/api/v1/documents/{doc}", raw=True)
    if not pdf.startswith(b"%PDF-"):
        raise Missing(f"GET /api/v1/documents/{doc} did not answer with a PDF")
    path = d.dir / "first-reminder.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = next((l.split()[-1] for l in info.splitlines() if l.startswith("Pages:")), "?")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    print(f"notification {notification} ({letter.get('template')}; deliveries: {channels})")
    print(f"GET :8085/api/v1/documents/{doc} -> var/demo/first-reminder.pdf, {len(pdf)} bytes, {pages} page(s):")
    lines = [l for l in text.splitlines() if l.strip()]
    print("\n".join(lines[:40]))
    count("letter_lines", min(len(lines), 40))


def cmd_sms(d: Demo, _args) -> None:
    lines = d.sms_lines()
    if not lines:
        raise Missing("the SMS gateway stand-in received no SMS (var/demo/sms-gateway.log)")
    print(f"{len(lines)} SMS; the last 5:")
    for l in lines[-5:]:
        print("  " + l)
    agr = [l for l in lines if "userref agr-" in l]
    print("agreements' SMS (meeting confirmation, the reminder the day before, a missed instalment):")
    for l in agr[:3]:
        print("  " + l)
    count("sms", len(lines))
    count("sms_agreements", len(agr))


def cmd_caseworker(d: Demo, _args) -> None:
    chosen = json.loads((d.dir / "agreements.json").read_text())
    debtor = chosen["plan"]
    v = http("GET", SERVICES["agreements"], f"/api/v1/debtors/{debtor}?municipality=0746", token=CASEWORKER)
    print(f"citizen {debtor} (GET :8083/api/v1/debtors/{debtor}?municipality=0746):")
    for c in v.get("claims", [])[:4]:
        print("  claim", c.get("claim_id"), c.get("category"), c.get("state"), c.get("total") or c.get("balance"))
    plans = v.get("plans", [])
    for p in plans:
        print("  plan", p.get("plan_id"), p.get("state"), "paid", p.get("paid"), "of", p.get("total"))
    if not plans:
        raise Missing("the caseworker's view shows no payment plan")
    t = http("GET", SERVICES["agreements"], "/api/v1/tasks?municipality=0746", token=CASEWORKER)
    items = t.get("tasks", t) if isinstance(t, dict) else t
    print("open tasks:", len(items))
    for x in items[:5]:
        print("  ", x.get("kind"), x.get("due_date") or x.get("date"), x.get("debtor_id"))
    count("caseworker_plans", len(plans))
    count("open_tasks", len(items))


def cmd_reports(d: Demo, _args) -> None:
    r = http("GET", SERVICES["reporting"], "/api/v1/reports?municipality=0746", token=ADMIN)
    items = r.get("reports", r) if isinstance(r, dict) else r
    for x in items:
        print(" ", x.get("report_id"), x.get("kind"), x.get("as_of"), [f.get("name") for f in x.get("files", [])])
    count("reports_0746", len(items))
    found = sorted((d.dir / "documents" / "reports" / "0746").rglob("arrears-0746-2026-12.csv"))
    if not found:
        raise Missing("no December 2026 CSV under var/demo/documents/reports/0746")
    path = found[0]
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    print(f"{path.relative_to(d.dir.parent.parent)} (for Danish Excel: ; and decimal comma):")
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    for row in rows[:16]:
        print("  " + ";".join(row))
    header = next((row for row in rows if any("2025" in c for c in row)), None)
    if header is None:
        raise Missing("the December CSV has no column for December 2025 (the 12-months-earlier comparison)")
    print("beside it:", " ".join(sorted(p.name for p in path.parent.iterdir())))
    # the quarterly report to the council: the measures taken against the same quarter a year
    # earlier, and each category's share (issue 22, item 8)
    quarterly = sorted((d.dir / "documents" / "reports" / "0746").rglob("arrears-0746-2026-q4.csv"))
    if not quarterly:
        raise Missing("no Q4 2026 CSV under var/demo/documents/reports/0746 (the quarterly report to the council)")
    qrows = list(csv.reader(quarterly[0].read_text(encoding="utf-8-sig").replace("\r\n", "\n").splitlines(), delimiter=";"))
    start = next((i for i, row in enumerate(qrows[:-1]) if len(row) > 1 and row[1] == "key"
                  and len(qrows[i + 1]) > 1 and qrows[i + 1][1] == "reminders"), None)
    if start is None:
        raise Missing("the Q4 report has no measures taken (the council's account of the measures)")
    print(f"{quarterly[0].name}: the measures taken, Q4 2026 against Q4 2025 (for the council):")
    measures = [row for row in qrows[start:] if len(row) >= 4]
    for row in measures:
        print("  " + ";".join(row))
    count("quarterly_measures", len(measures) - 1)
    a = http("GET", SERVICES["reporting"], "/api/v1/arrears?municipality=0746&as_of=2026-12-31&compare=12m", token=ADMIN)
    print("as-of query GET :8086/api/v1/arrears?municipality=0746&as_of=2026-12-31&compare=12m:")
    print("  ", {k: a[k] for k in a if not isinstance(a[k], (list, dict))})
    print("   total:", a.get("total"))


def cmd_mail(d: Demo, _args) -> None:
    mails = d.mails()
    if not mails:
        raise Missing("no e-mail reached the demo's SMTP test server (var/demo/mail)")
    committee = 0
    for path in mails:
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        attachments = [(p.get_filename(), p.get_content_type(), len(p.get_content())) for p in msg.iter_attachments()]
        body = msg.get_body(preferencelist=("plain",))
        first = [l for l in (body.get_content() if body else "").splitlines() if l.strip()][:4]
        is_report = "report" in str(msg.get("X-Restance-Template", "")) or any(n and n.endswith(".xlsx") for n, _, _ in attachments)
        committee += 1 if is_report else 0
        print(f"{path.name}")
        print(f"  Subject: {msg['subject']}")
        print(f"  To:      {msg['to']}")
        for l in first:
            print(f"  | {l}")
        for name, ctype, size in attachments:
            print(f"  attached: {name} ({ctype}, {size} bytes)")
    count("emails", len(mails))
    count("emails_with_spreadsheets", committee)


def sample_guarantees(d: Demo) -> tuple[dict, list[dict]]:
    """The sample's registrations by guarantee id, and its changes in publishing order."""
    registered, changes = {}, []
    for line in (d.dir / "guarantees.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        if e["type"] == "immigration.guarantee.registered.v1":
            registered[e["data"]["guarantee_id"]] = e["data"]
        elif e["type"] == "immigration.guarantee.changed.v1":
            changes.append(e["data"])
    return registered, changes


def guarantee_claims(d: Demo) -> list[tuple[str, dict]]:
    """(guarantee id, open claim in invoicing) of every guarantee whose ending raised a claim."""
    registered, changes = sample_guarantees(d)
    out = []
    for ch in changes:
        if ch["reason"] not in ("divorce", "death", "moved_away"):
            continue
        g = registered[ch["guarantee_id"]]
        try:
            view = http("GET", SERVICES["invoicing"],
                        f"/api/v1/debtors/{g['guarantor']['id']}/claims?municipality={g['municipality']}")
        except Missing as e:
            if " 404: " in str(e):
                continue  # released: nothing recovered, no claim for the guarantor
            raise
        for c in view["claims"]:
            if c.get("category") == "guarantee" and c.get("invoice_id", "").startswith(ch["guarantee_id"] + "/"):
                out.append((ch["guarantee_id"], c))
    return out


def cmd_guarantee_payments(d: Demo, args) -> None:
    """Bank payments for the recovery claims: the first in full, the second in part."""
    d.wait_quiet("the recovery claims", timeout=120)
    claims = [(g, c) for g, c in guarantee_claims(d) if c.get("state") == "open"]
    if len(claims) < 2:
        raise Missing(f"fewer than two open recovery claims in invoicing ({len(claims)})")
    lines = []
    for (guarantee_id, c), share in zip(claims[:2], (1.0, 0.5)):
        balance = float(c["total"])
        amount = f"{balance * share:.2f}"
        payment_id = f"BANK-{c['claim_id']}"
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "restance-demo/" + payment_id)),
            "source": f"/bank/{c.get('municipality', '0746')}",
            "type": "bank.payment.received.v1",
            "time": "2027-01-20T11:00:00Z",
            "datacontenttype": "application/json",
            "data": {
                "payment_id": payment_id, "municipality": c.get("municipality", "0746"), "amount": amount,
                "currency": "DKK", "booking_date": "2027-01-20", "channel": "fik",
                "payment_reference": c["ocr_line"],
            },
        }
        lines.append(json.dumps(envelope, ensure_ascii=False))
        print(f"the bank of guarantee {guarantee_id} pays {amount} of {c['total']} to claim {c['claim_id']} "
              f"with the reference {c['ocr_line']}")
    Path(args.out).write_text("\n".join(lines) + "\n")
    count("guarantee_payments", len(lines))


def cmd_guarantee(d: Demo, _args) -> None:
    d.wait_quiet("the recovery cases", timeout=120)
    registered, changes = sample_guarantees(d)
    states: dict[str, int] = {}
    shown = False
    for gid in registered:
        g = http("GET", SERVICES["guarantee"], f"/api/v1/guarantees/{gid}", token=CASEWORKER)
        case = g.get("case") or {}
        state = case.get("state", "no case")
        states[state] = states.get(state, 0) + 1
        print(f"{gid}: {g.get('amount')} at {g['bank']['name']}, in force {g.get('in_force')}, "
              f"{len(g.get('benefits', []))} benefit(s), recoverable now {g['recoverable'].get('total')}, case: {state}")
        if case and not shown and case.get("steps") and state == "closed" and case.get("claim") not in (None, "0.00"):
            shown = True
            print(f"  the case {case.get('case_id')} step by step:")
            for st in case["steps"]:
                step = dict(st.get("step") or {})
                what = step.pop("step", "?")
                by = st.get("by") or {}
                who = by.get("kind", "?") + (f" {by['id']}" if by.get("id") else "")
                detail = ", ".join(f"{k} {v}" for k, v in step.items() if not isinstance(v, dict))
                print(f"    {st.get('on')}  {what:<17} by {who:<10} {detail}")
                for sent in st.get("sent") or []:
                    print(f"      sent: {sent}")
    for state, n in sorted(states.items()):
        count(f"guarantee_cases_{state.replace(' ', '_')}", n)
    # the bank's hold-and-pay letter of the first raised case, as rendered
    for gid, c in guarantee_claims(d)[:1]:
        notification = f"guarantee:{gid}/R1:guarantee_bank_hold"
        doc = document_id(notification)
        pdf = http("GET", SERVICES["notifications"], f"/api/v1/documents/{doc}", raw=True)
        path = d.dir / "bank-hold-letter.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
        lines = [l for l in text.splitlines() if l.strip()]
        print(f"the bank's letter for {gid} (GET :8085/api/v1/documents/{doc} -> var/demo/bank-hold-letter.pdf):")
        print("\n".join(lines[:30]))
        count("guarantee_letter_lines", min(len(lines), 30))
    admin = [p.name for p in d.mails() if "sikkerhedsstillelse@skanderborg" in p.read_text(errors="replace")]
    print(f"e-mails to the guarantee administrator: {len(admin)}")
    count("guarantee_admin_emails", len(admin))
    if not shown:
        raise Missing("no recovery case was settled and closed")


def counselling_applications(d: Demo) -> list[dict]:
    """The sample's applications (their data), in publishing order."""
    return [json.loads(l)["data"] for l in (d.dir / "counselling.jsonl").read_text().splitlines() if l.strip()]


def counselling_cases(d: Demo) -> dict[str, dict]:
    """application id -> the case as GET /api/v1/cases/{id} answers it, for every open case."""
    port = SERVICES["counselling"]
    listed = http("GET", port, "/api/v1/cases", token=CASEWORKER)
    out = {}
    for row in listed.get("cases", []):
        v = http("GET", port, f"/api/v1/cases/{row['case_id']}", token=CASEWORKER)
        v["next_task"] = row.get("next_task")
        out[v["application_id"]] = v
    return out


def counselling_notifications(case: dict) -> list[tuple[str, str, str]]:
    """(notification id, template, kind) of every letter and SMS of the case, in order: the case
    numbers what it sends (the timeline's n-th letter or SMS is `counselling:{case}:{n}:{template}`)."""
    out = []
    for e in case["case"]["timeline"]:
        if e.get("kind") in ("letter", "sms"):
            template = e["text"].split(" ", 1)[0]
            out.append((f"counselling:{case['case']['case_id']}:{len(out) + 1}:{template}", template, e["kind"]))
    return out


def print_entries(entries: list[dict], indent: str = "  ") -> None:
    for e in entries:
        print(f"{indent}{e.get('on')}  {e.get('by', ''):<7} {e.get('kind', ''):<16} {e.get('text', '')}")


def cmd_counselling_session(d: Demo, _args) -> None:
    """The counsellor's session on the case whose applicant reported an income."""
    d.wait_quiet("the counselling applications", timeout=120)
    apps = counselling_applications(d)
    cases = counselling_cases(d)
    print(f"the counsellors' list (GET :8087/api/v1/cases): {len(cases)} open case(s) from {len(apps)} application(s)")
    for a in apps:
        v = cases.get(a["application_id"])
        if v is None:
            continue
        c, task = v["case"], v.get("next_task") or {}
        print(f"  {c['case_id']}  counsellor {c['counsellor']}  phase {c['phase']}  opened {c['opened_on']}  "
              f"income reported: {a['answers']['income_reported']}  next task: {task.get('kind', '-')} {task.get('due', '')}".rstrip())
    count("counselling_cases", len(cases))
    picked = next((cases[a["application_id"]] for a in apps
                   if a["answers"]["income_reported"] and a["application_id"] in cases), None)
    if picked is None:
        raise Missing("no counselling case opened from an application with an income reported")
    app = next(a for a in apps if a["application_id"] == picked["application_id"])
    case_id, counsellor = picked["case"]["case_id"], picked["case"]["counsellor"]
    token = COUNSELLORS.get(counsellor)
    if not token:
        raise Missing(f"the demo has no token for counsellor {counsellor} (RESTANCE_DEMO_COUNSELLOR_TOKENS)")
    print(f"-- counsellor {counsellor} (with a token named for the counsellor: the timeline names who did what) on case {case_id}; "
          f"the applicant was born {picked['applicant']['birth_date']} (the API never shows the national id)")
    income, expenses = app["answers"]["monthly_income"], app["answers"]["monthly_expenses"]
    steps = [
        ("review", {"decision": "suitable"},
         "the first review: suitable (an income is reported, so no calls first) — the reply letter"),
        ("documents", {"received": ["Skattemelding 2025", "Lønnsslipper september–november", "Oversikt over gjeld"],
                       "power_of_attorney": True},
         "the documents and the signed power of attorney are in"),
        ("creditors", {"name": "Lindorff AS", "reference": "L-4711", "email": "gjeld@lindorff.example",
                       "address": {"lines": ["Postboks 283 Skøyen"], "postcode": "0213", "city": "Oslo", "country": "NO"}},
         "a creditor is asked for the debt (letter and e-mail: name and birth date only)"),
        ("creditors/0/answer", {"items": [{"kind": "forbrukslån", "reference": "L-4711", "balance": "48500.00",
                                           "interest": "2150.00", "monthly_cost": "1450.00"}]},
         "Lindorff answers: one consumer loan"),
        ("budget", {"monthly_income": income, "monthly_expenses": expenses},
         f"the household budget: income {income}, necessary expenses {expenses} a month"),
        ("schedule", {}, "the debt schedule goes to the applicant with the budget's verdict"),
    ]
    seen = len(picked["case"]["timeline"])
    v = picked
    for path, body, what in steps:
        v = http("POST", SERVICES["counselling"], f"/api/v1/cases/{case_id}/{path}", body, token)
        print(f"POST :8087/api/v1/cases/{{id}}/{path}: {what} -> phase {v['case']['phase']}")
        print_entries(v["case"]["timeline"][seen:], "    ")
        seen = len(v["case"]["timeline"])
    sched = v.get("schedule") or {}
    totals = sched.get("totals") or {}
    print(f"the debt schedule: {len(sched.get('items', []))} item(s), balance {totals.get('balance')}, "
          f"monthly cost {totals.get('monthly_cost')}, can service the debt: {sched.get('can_service')}")
    (d.dir / "counselling-case.json").write_text(json.dumps({"case_id": case_id, "counsellor": counsellor}))
    count("counselling_steps", len(steps))
    d.wait_quiet("the counselling letters", timeout=120)


def xlsx_rows(path: Path) -> tuple[str, list[list[str]]]:
    """The first sheet's name and its rows as text (shared strings resolved), read with zipfile."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns):
                shared.append("".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t")))
        book = ET.fromstring(z.read("xl/workbook.xml"))
        sheet = book.find("m:sheets/m:sheet", ns)
        sheet_name = sheet.get("name") if sheet is not None else "?"
        root = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in root.iter(f"{{{ns['m']}}}row"):
        cells = {}
        for c in row.findall("m:c", ns):
            col = re.match(r"[A-Z]+", c.get("r", "A")).group(0)
            v = c.find("m:v", ns)
            text = "" if v is None else (v.text or "")
            if c.get("t") == "s" and text:
                text = shared[int(text)]
            elif c.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(f"{{{ns['m']}}}t"))
            elif text and c.get("t") is None:
                text = f"{float(text):,.2f}"
            cells[col] = text
        width = max((ord(k[-1]) - 64 for k in cells), default=0)
        rows.append([cells.get(chr(65 + i), "") for i in range(width)])
    return sheet_name, rows


def cmd_counselling(d: Demo, _args) -> None:
    d.wait_quiet("the counselling letters", timeout=120)
    try:
        picked = json.loads((d.dir / "counselling-case.json").read_text())
    except OSError:
        raise Missing("no counselling case was worked (the counsellor's session failed)") from None
    case_id = picked["case_id"]
    port = SERVICES["counselling"]
    v = http("GET", port, f"/api/v1/cases/{case_id}", token=CASEWORKER)
    c = v["case"]
    print(f"case {case_id} (GET :8087/api/v1/cases/{{id}}): counsellor {c['counsellor']}, phase {c['phase']}, "
          f"opened {c['opened_on']}, applicant born {v['applicant']['birth_date']}, "
          f"power of attorney {c.get('power_of_attorney')}, next timer {v.get('next_timer')}")
    print("its timeline:")
    print_entries(c["timeline"])
    count("counselling_timeline", len(c["timeline"]))
    tasks = v.get("tasks") or []
    print("the counsellor's tasks now:", "; ".join(f"{t.get('kind')} {t.get('due', '')}".strip() for t in tasks) or "none")

    # what the case sent, as notifications delivered it
    sent = counselling_notifications(v)
    rendered = 0
    print("what the case sent (GET :8085/api/v1/notifications/{id}):")
    for nid, template, kind in sent:
        n = http("GET", SERVICES["notifications"], f"/api/v1/notifications/{nid}")
        channels = ", ".join(f"{x.get('channel')} {x.get('status')}" for x in n.get("deliveries", []))
        pdf = b""
        if kind == "letter":
            pdf = http("GET", SERVICES["notifications"], f"/api/v1/documents/{document_id(nid)}", raw=True)
            rendered += 1 if pdf.startswith(b"%PDF-") else 0
        print(f"  {template:<34} {kind:<6} {channels}" + (f"  (PDF {len(pdf)} bytes)" if pdf else ""))
    letters = [s for s in sent if s[2] == "letter"]
    count("counselling_letters_requested", len(letters))
    count("counselling_letters_rendered", rendered)

    # the reply letter as the applicant reads it
    reply = next((nid for nid, template, _ in sent if template == "counselling_reply"), None)
    if reply is None:
        raise Missing("the case sent no reply letter")
    doc = document_id(reply)
    path = d.dir / "counselling-reply.pdf"
    path.write_bytes(http("GET", SERVICES["notifications"], f"/api/v1/documents/{doc}", raw=True))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = next((l.split()[-1] for l in info.splitlines() if l.startswith("Pages:")), "?")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    lines = [l for l in text.splitlines() if l.strip()]
    print(f"the reply letter (GET :8085/api/v1/documents/{doc} -> var/demo/counselling-reply.pdf, {pages} page(s)):")
    print("\n".join(lines[:30]))
    count("counselling_reply_lines", min(len(lines), 30))

    # the debt schedule as the counsellor downloads it
    xlsx = http("GET", port, f"/api/v1/cases/{case_id}/schedule.xlsx", token=CASEWORKER, raw=True)
    if not xlsx.startswith(b"PK"):
        raise Missing("GET /api/v1/cases/{id}/schedule.xlsx did not answer with an XLSX")
    path = d.dir / f"gjeldsskjema-{case_id}.xlsx"
    path.write_bytes(xlsx)
    sheet, rows = xlsx_rows(path)
    print(f"the debt schedule (GET :8087/api/v1/cases/{{id}}/schedule.xlsx -> var/demo/{path.name}, "
          f"{len(xlsx)} bytes), sheet {sheet}:")
    for row in rows:
        print("  " + " | ".join(row))
    header = next((i for i, r in enumerate(rows) if r and r[0] == "Kreditor"), None)
    total = next((i for i, r in enumerate(rows) if r and r[0] == "Sum"), None)
    if header is None or total is None:
        raise Missing(f"the schedule's sheet {sheet} has no Kreditor header or Sum row")
    count("counselling_schedule_items", total - header - 1)

    # the case events, as the tap on the exchange caught them (restance tap read counselling)
    events = [json.loads(l) for l in (d.dir / "counselling-events.jsonl").read_text().splitlines() if l.strip()]
    opened = [e for e in events if e.get("type") == "counselling.case.opened.v1"]
    print(f"the case events on the exchange (restance tap read counselling): {len(events)}, "
          f"{len(opened)} counselling.case.opened.v1; this case's:")
    for e in opened:
        if e["data"].get("case_id") == case_id:
            print(f"  {e['type']}  id {e['id']}  from {e['source']}  at {e['time']}")
            for line in json.dumps(e["data"], indent=2, ensure_ascii=False).splitlines():
                print("    " + line)
    count("counselling_events_opened", len(opened))
    if not any(e["data"].get("case_id") == case_id for e in opened):
        raise Missing(f"no counselling.case.opened.v1 for {case_id} reached the tap")


def cmd_debtor(d: Demo, _args) -> None:
    picked = d.picked()
    print(picked["debtor_id"], picked["municipality"])


def cmd_dead_count(d: Demo, _args) -> None:
    queues = d.queues()
    if queues is None:
        raise Missing("rabbitmqctl cannot list the queues: dead letters not counted")
    dead = {q: n for q, n in queues.items() if q.endswith(".dead")}
    total = sum(dead.values())
    print("dead letters per queue:", ", ".join(f"{q} {n}" for q, n in sorted(dead.items())) or "none")
    count("dead_letters", total)
    if total == 0:
        raise Missing("the bad input left no dead letter")


def cmd_metrics(d: Demo, _args) -> None:
    shown = 0
    print(f"{'service':<14} {'metric':<72} {'value':>8}")
    for name, port in SERVICES.items():
        try:
            m = metrics(port)
        except Missing as e:
            print(f"{name:<14} (no metrics: {e})")
            continue
        for key in sorted(m):
            if re.match(r"restance_[a-z_]+_total", key) and m[key] > 0:
                print(f"{name:<14} {key:<72} {m[key]:>8.0f}")
                shown += 1
    print("(in Prometheus each scrape target carries its service as the job/pod label)")
    count("metric_lines", shown)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--demo", required=True)
    p.add_argument("--exchange", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("ready", "settle", "agreements", "history", "letter", "sms", "caseworker", "reports", "mail",
                 "debtor", "dead-count", "metrics", "campaigns", "campaign-outcome"):
        sub.add_parser(name)
    sub.add_parser("day").add_argument("date")
    sub.add_parser("guarantee")
    sub.add_parser("counselling-session")
    sub.add_parser("counselling")
    sub.add_parser("guarantee-payments").add_argument("out")
    args = p.parse_args()
    d = Demo(args)
    try:
        globals()["cmd_" + args.cmd.replace("-", "_")](d, args)
    except Missing as e:
        print(f"!! {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
