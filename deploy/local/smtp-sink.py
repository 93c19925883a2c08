#!/usr/bin/env python3
"""Restance's local SMTP test server: accepts every message and writes it to a spool directory.

Started (in the background, once per machine) by deploy/local/ensure-services.sh inside the
tools venv that has aiosmtpd; stopped by deploy/local/stop-smtp.sh.

Every accepted message becomes one file  <spool>/<unix-nanos>-<pid>-<seq>.eml : the message
bytes exactly as received, preceded by three header lines this server adds:

    X-Envelope-From: <sender from MAIL FROM, empty for bounces>
    X-Envelope-To: <rcpt1>, <rcpt2>          (the SMTP envelope: includes Bcc recipients)
    X-Restance-Received-At: 2026-12-01T06:00:00.123456Z

A file is written under a temporary dot-name and renamed into place, so a reader that lists
*.eml never sees a half-written message. Any recipient, any sender, AUTH with any credentials
(without TLS), SMTPUTF8 and 8BITMIME are accepted. The greeting line names the spool directory:
    220 <host> restance-smtp-sink spool=/root/.cache/restance-tools/smtp/inbox
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult

IDENT = "restance-smtp-sink"
# aiosmtpd warns about its own Session.login_data when a client authenticates
warnings.filterwarnings("ignore", message="Session.login_data")


class SpoolHandler:
    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.seq = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        sender = envelope.mail_from or ""
        rcpts = ", ".join(envelope.rcpt_tos)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        head = (
            f"X-Envelope-From: {sender}\r\n"
            f"X-Envelope-To: {rcpts}\r\n"
            f"X-Restance-Received-At: {now}\r\n"
        ).encode("utf-8")
        name = f"{time.time_ns()}-{os.getpid()}-{next(self.seq):06d}.eml"
        tmp = self.spool / f".{name}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(head)
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.spool / name)
        except OSError as e:
            print(f"smtp-sink: cannot write {name}: {e}", file=sys.stderr, flush=True)
            return "451 4.3.0 cannot store message"
        print(f"smtp-sink: {name} from=<{sender}> rcpts={len(envelope.rcpt_tos)}", flush=True)
        return "250 2.0.0 OK stored as " + name


def accept_any_auth(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)


def prune(spool: Path, keep_days: float) -> None:
    if keep_days <= 0:
        return
    cutoff = time.time() - keep_days * 86400
    for p in spool.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


async def serve(args: argparse.Namespace) -> None:
    spool = Path(args.spool).resolve()
    spool.mkdir(parents=True, exist_ok=True)
    prune(spool, args.keep_days)
    handler = SpoolHandler(spool)
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname=args.hostname,
            ident=f"{IDENT} spool={spool}",
            enable_SMTPUTF8=True,
            decode_data=False,
            data_size_limit=args.max_size,
            auth_require_tls=False,
            authenticator=accept_any_auth,
        )

    server = await loop.create_server(factory, host=args.host, port=args.port, reuse_address=True)
    if args.pidfile:
        Path(args.pidfile).write_text(f"{os.getpid()}\n")
    print(f"smtp-sink: listening on {args.host}:{args.port}, spool {spool}", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()
    if args.pidfile:
        try:
            if Path(args.pidfile).read_text().strip() == str(os.getpid()):
                Path(args.pidfile).unlink()
        except OSError:
            pass
    print("smtp-sink: stopped", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--hostname", default="localhost", help="name used in the greeting")
    p.add_argument("--spool", required=True, help="directory the .eml files are written to")
    p.add_argument("--pidfile", help="written once listening, removed on clean stop")
    p.add_argument("--keep-days", type=float, default=7.0, help="delete spool files older than this at start (0: keep)")
    p.add_argument("--max-size", type=int, default=32 * 1024 * 1024)
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
