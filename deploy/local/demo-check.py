#!/usr/bin/env python3
"""Checks two outputs of `just demo` (deploy/local/demo-check.sh runs it twice).

Each run must have succeeded at every step and shown every section README promises, with real
content (a letter's text, SMS, the caseworker's view, the report CSV with its 12-months-earlier
column, this run's committee e-mails with their attachments, claims with payment lines, a dunning
history with reminders, a counselling case with its letters and debt schedule, dead letters
with reasons, metrics by service); and the two runs' counts
(`demo: name=value` lines) must be equal: the second run starts from a clean slate too.
Usage: demo-check.py RUN1.log RUN2.log — prints one line per check, exits 1 on any failure.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sections(text: str) -> dict[str, str]:
    out, title, buf = {}, "(start)", []
    for line in text.splitlines():
        m = re.match(r"^== (.*)$", line)
        if m:
            out[title] = "\n".join(buf)
            title, buf = m.group(1), []
        else:
            buf.append(line)
    out[title] = "\n".join(buf)
    return out


def section(secs: dict[str, str], start: str) -> str:
    for title, body in secs.items():
        if title.startswith(start):
            return body
    return ""


def counts(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^demo: ([a-z0-9_\-]+)=(\d+)$", text, re.M)}


def check_run(name: str, text: str) -> list[str]:
    problems = []
    secs = sections(text)
    c = counts(text)

    def need(cond: bool, what: str) -> None:
        if not cond:
            problems.append(f"{name}: {what}")

    need("every step succeeded" in text, "not every step succeeded")
    need("!! " not in text, "a step reported a failure (a line starting with '!!')")
    need(c.get("invoices") == 400, f"400 invoices published (saw {c.get('invoices')})")
    need(c.get("payments", 0) > 0, "bank payments published")
    letter = section(secs, "its first reminder letter")
    need(c.get("letter_lines", 0) >= 10 and re.search(r"\d+[.,]\d\d", letter) is not None,
         "the letter's text with an amount")
    need(re.search(r"\+71<|KID", letter) is not None or "71<" in letter, "the letter's payment line (FIK/KID)")
    sms = section(secs, "SMS at the gateway")
    need(c.get("sms", 0) > 0 and "sms " in sms, "SMS at the gateway")
    need(re.search(r"\+45\d{8}|\+47\d{8}|\+299\d{6}", sms) is None, "phone numbers masked in the SMS section")
    need(c.get("sms_agreements", 0) > 0, "agreements' SMS (meeting confirmation)")
    cw = section(secs, "the caseworker's view")
    need(c.get("caseworker_plans", 0) >= 1 and "  plan " in cw, "the caseworker's view with the plan")
    rep = section(secs, "the arrears reports")
    need("arrears-0746-2026-12.csv" in rep and "2025" in rep, "the December CSV with its December 2025 column")
    camp = section(secs, "campaigns (restance-dunning")
    need(c.get("campaigns") == 2 and "approved by its own creator -> 409" in camp
         and c.get("campaign_direct_debit_debtors", 0) > 0 and c.get("campaign_settlement_visit_debtors", 0) > 0,
         "two campaigns previewed, refused to their creator and approved by a second caseworker")
    need("outcome:" in section(secs, "the campaigns' outcome"), "the campaigns' outcome")
    need("arrears-0746-2026-q4.csv" in rep and c.get("quarterly_measures", 0) >= 8,
         f"the Q4 report's measures taken for the council (saw {c.get('quarterly_measures')} rows)")
    need(".xlsx" in rep, "the XLSX beside the CSV")
    mail = section(secs, "this run's e-mails")
    need(c.get("emails", 0) > 0 and "Subject: " in mail and "=?utf-8?" not in mail.lower(),
         "this run's e-mails with decoded subjects")
    need(re.search(r"^  To: +\S+@\S+", mail, re.M) is not None, "the e-mails' recipient addresses")
    need(c.get("emails_with_spreadsheets", 0) > 0 and "attached: " in mail and ".xlsx" in mail and ".csv" in mail,
         "committee e-mails with the report's XLSX and CSV attached")
    claims = section(secs, "a debtor's claims")
    need(re.search(r"\+71<|KID|<\d", claims) is not None, "the debtor's claims with their payment lines")
    hist = section(secs, "a claim that went through reminders")
    need(c.get("history_reminders", 0) >= 2 and hist.count("reminder") >= 2, "a dunning history with two reminders")
    gua = section(secs, "guarantee recovery")
    need(c.get("guarantee_payments") == 2, "the banks paid two recovery claims")
    need(c.get("guarantee_cases_closed", 0) >= 2 and c.get("guarantee_cases_part_paid", 0) >= 1,
         "recovery cases closed (settled or released) and one part paid")
    need("step by step" in gua and "guarantee_bank_release" in gua, "a settled case's steps with the release letter")
    need(c.get("guarantee_letter_lines", 0) >= 10 and re.search(r"\+71<", gua) is not None,
         "the bank's hold-and-pay letter with its payment line")
    need(c.get("guarantee_admin_emails", 0) >= 1, "the guarantee administrator's e-mails")
    need(re.search(r"\b\d{6}-?\d{4}\b", gua) is None, "no national id in the guarantee section")
    need(c.get("counselling_applications") == 2, "two counselling applications published")
    ses = section(secs, "a debt counsellor works a case")
    need(c.get("counselling_cases") == 2 and c.get("counselling_steps") == 6,
         "both applications opened a case and the counsellor's six steps were taken")
    need("counselling_reply to the applicant" in ses and "counselling_debt_request to Lindorff AS" in ses,
         "the session sent the reply and the creditor's request")
    cou = section(secs, "debt counselling (restance-counselling")
    need(c.get("counselling_timeline", 0) >= 8 and "schedule" in cou, "the case's timeline to the schedule")
    need(c.get("counselling_letters_requested", 0) >= 3
         and c.get("counselling_letters_rendered") == c.get("counselling_letters_requested"),
         "the case's letters (reply, debt request, debt feedback) requested and rendered as PDF")
    need(c.get("counselling_reply_lines", 0) >= 10, "the reply letter's text")
    need("sheet Gjeldsskjema" in cou and c.get("counselling_schedule_items", 0) >= 1 and "Lindorff AS" in cou,
         "the debt schedule's XLSX with its rows")
    need(c.get("counselling_events_opened") == 2 and "counselling.case.opened.v1  id " in cou,
         "the counselling.case.opened.v1 events caught on the exchange")
    # eleven digits standing alone: not inside an id (a uuid's last group can be eleven digits
    # and a letter, which matched by chance before)
    need(re.search(r"(?<![\w-])\d{6} ?\d{5}(?![\w-])", ses + cou) is None, "no fødselsnummer in the counselling sections")
    dead = section(secs, "dead letters")
    need(c.get("dead_letters", 0) >= c.get("bad_messages", 1) > 0, "a dead letter for every bad message")
    need("REASON" in dead and re.search(r"invoicing .*\S+ *$", dead, re.M) is not None, "dead letters listed with reasons")
    met = section(secs, "what the services did")
    for svc in ("invoicing", "dunning", "agreements", "guarantee", "counselling", "notifications", "reporting"):
        need(re.search(rf"^{svc} +restance_", met, re.M) is not None, f"metrics of {svc}, labelled by service")
    summary = section(secs, "summary")
    need("left running:" in summary, "the summary says what is left running")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    texts = [ANSI.sub("", Path(a).read_text(encoding="utf-8", errors="replace")) for a in argv]
    problems = check_run("run 1", texts[0]) + check_run("run 2", texts[1])
    first, second = counts(texts[0]), counts(texts[1])
    if first != second:
        diff = {k: (first.get(k), second.get(k)) for k in sorted(set(first) | set(second)) if first.get(k) != second.get(k)}
        problems.append(f"the two runs counted differently: {diff}")
    print("demo counts:", ", ".join(f"{k}={v}" for k, v in sorted(first.items())))
    if problems:
        for p in problems:
            print("FAIL", p)
        return 1
    print(f"demo-check: both runs succeeded, every section had its content, and the {len(first)} counts were equal")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
