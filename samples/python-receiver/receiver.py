#!/usr/bin/env python3
"""A webhook receiver for Aqio Connect deliveries, standard library only.

It verifies each request's Standard Webhooks HMAC-SHA256 signature (``v1,``
under the webhook's ``whsec_`` secret) with ``hmac``/``hashlib``/``base64``,
refuses a ``webhook-timestamp`` more than 5 minutes from now, answers at
once, deduplicates on ``webhook-id`` and processes each message once, after
the answer.

    AQIO_WEBHOOK_SECRET=whsec_... PORT=3000 python3 python-receiver/receiver.py

AQIO_WEBHOOK_SECRET may hold several secrets, comma-separated: the old and
the new one during a rotation's grace period. Every request is logged as one
JSON line on stdout ({"outcome": "accepted"|"duplicate"|"rejected", ...}).

Ed25519 (``v1a,``, ``whpk_`` keys) is not in Python's standard library: use
the HMAC scheme here, or verify ``v1a`` signatures with a library such as
``cryptography`` (Ed25519PublicKey.verify over the same signed content).
"""

import base64
import hashlib
import hmac
import json
import os
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60
MAX_BYTES = 1 << 20


class VerificationError(Exception):
    pass


def load_secrets(value):
    secrets = []
    for s in value.split(","):
        s = s.strip()
        if not s.startswith("whsec_"):
            raise SystemExit("AQIO_WEBHOOK_SECRET: give whsec_ secrets (Ed25519 whpk_ keys need a library, see the docstring)")
        secrets.append(base64.b64decode(s[len("whsec_"):]))
    return secrets


def verify(secrets, headers, body, now=None):
    """Raises VerificationError unless a v1 signature of body verifies."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isdigit():
        raise VerificationError("invalid webhook-timestamp")
    now = int(time.time()) if now is None else now
    if now - int(timestamp) > TOLERANCE_SECONDS:
        raise VerificationError("message timestamp too old")
    if int(timestamp) - now > TOLERANCE_SECONDS:
        raise VerificationError("message timestamp too new")
    # The signed content is id.timestamp.body, over the raw body bytes.
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    for secret in secrets:
        expected = base64.b64encode(hmac.new(secret, content, hashlib.sha256).digest())
        for entry in signatures.split(" "):
            version, _, sig = entry.partition(",")
            if version == "v1" and hmac.compare_digest(sig.encode(), expected):
                return
    raise VerificationError("no matching signature")


class Seen:
    """The webhook-ids already accepted (a redelivery keeps its webhook-id).

    Keep them in your database in production (a unique key on the id); in
    memory they are lost on restart."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids = {}

    def first_time(self, msg_id):
        now = time.time()
        with self._lock:
            for k in [k for k, t in self._ids.items() if now - t > 86400]:
                del self._ids[k]
            if msg_id in self._ids:
                return False
            self._ids[msg_id] = now
            return True

    def forget(self, msg_id):
        """Drops msg_id: its message was not taken after all."""
        with self._lock:
            self._ids.pop(msg_id, None)


def log(**record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main():
    secrets = load_secrets(os.environ.get("AQIO_WEBHOOK_SECRET", ""))
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    path = os.environ.get("WEBHOOK_PATH", "/webhook")
    seen = Seen()
    # Work happens after the answer: a slow handler makes Aqio time out and
    # retry. A queue and one worker thread stand in for your job queue.
    work = queue.Queue(maxsize=1024)

    def worker():
        while True:
            event = work.get()
            _ = event  # handle the event here
            work.task_done()

    threading.Thread(target=worker, daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != path:
                self.send_response(404)
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BYTES:
                self.send_response(413)
                self.end_headers()
                return
            body = self.rfile.read(length)  # the raw bytes: verify before parsing
            msg_id = self.headers.get("webhook-id")
            try:
                verify(secrets, self.headers, body)
            except VerificationError as e:
                log(outcome="rejected", webhook_id=msg_id, reason=str(e))
                self.send_response(401)
                self.end_headers()
                return
            event = json.loads(body)
            if not seen.first_time(msg_id):
                log(outcome="duplicate", webhook_id=msg_id, type=event.get("type"))
                self.send_response(204)  # 2xx: Aqio stops retrying it
                self.end_headers()
                return
            try:
                work.put_nowait(event)
            except queue.Full:
                seen.forget(msg_id)
                self.send_response(503)  # Aqio retries later (and then it is new again)
                self.end_headers()
                return
            log(outcome="accepted", webhook_id=msg_id, type=event.get("type"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass  # the JSON lines above are the log

    server = ThreadingHTTPServer((host, port), Handler)
    sys.stderr.write(f"python-receiver listening on http://{host}:{port}{path}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
