#!/usr/bin/python3
"""smtp_receiver.py - a real SMTP server (aiosmtpd) for the notification
tests.

usage: smtp_receiver.py PORT DIR

Listens on 127.0.0.1:PORT and accepts every message.  Each message is
written to DIR/N.eml (N counts up) and a line "MESSAGE-ID<TAB>RCPT<TAB>
SUBJECT" is appended to DIR/log, flushed to disk before the server says
250, so a message the sender saw accepted is always in the log.
"""
import email
import email.policy
import os
import sys
import time

from aiosmtpd.controller import Controller

PORT, DIR = int(sys.argv[1]), sys.argv[2]
os.makedirs(DIR, exist_ok=True)


class Handler:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        raw = envelope.original_content or envelope.content
        with open(os.path.join(DIR, "%d.eml" % self.n), "wb") as f:
            f.write(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        line = "%s\t%s\t%s\n" % (msg.get("Message-ID", "-"), ",".join(envelope.rcpt_tos),
                                 str(msg.get("Subject", "-")).replace("\t", " "))
        with open(os.path.join(DIR, "log"), "a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return "250 OK"


c = Controller(Handler(), hostname="127.0.0.1", port=PORT)
c.start()
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
