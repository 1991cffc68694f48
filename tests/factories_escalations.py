"""Factories for the escalation form's tests: a desk with an L1 queue and an escalation path, a
valid form, and files (real PNG/JPEG bytes and hostile ones)."""
import email
import email.policy
import socket
import struct
import zlib

import pytest
from dataclasses import dataclass

from escalation.escalations import service
from escalation.escalations.models import PathStep
from escalation.models import Inbox

from . import factories
from .factories import NOW

SERIAL = "C02XK1Y2JG5H"


@dataclass
class Desk:
    org: object
    queue: object
    agent: object
    l2: Inbox
    l3: Inbox
    l4: Inbox
    l2_owner: object
    l4_owner: object
    item: object


def make_desk(org, agent, *, l2_owner=None, l4_owner=None):
    """L1 queue (with the agent) → Hardware L2 → Engineers L3 → Vendor L4, as the default item's
    path."""
    queue = factories.make_queue(org, members=[agent], name="Servicedesk", tier=1)
    l2_owner = l2_owner or factories.make_member(org, "agent", name="Lars L2",
                                                 email=f"lars{org.id}@example.test")
    l4_owner = l4_owner or factories.make_member(org, "agent", name="Vera Vendor",
                                                 email=f"vera{org.id}@example.test")
    l2 = factories.make_inbox(org, owners=[l2_owner], name="Hardware L2", tier=2)
    l3 = factories.make_inbox(org, owners=[], name="Engineers L3", tier=3)
    l4 = factories.make_inbox(org, owners=[l4_owner], name="Vendor L4", tier=4)
    item = service.ensure_default_catalog(org, now=NOW)
    set_path(item, [l2, l3, l4])
    return Desk(org, queue, agent, l2, l3, l4, l2_owner, l4_owner, item)


def set_path(item, inboxes):
    PathStep.delete().where(PathStep.item == item).execute()
    for position, inbox in enumerate(inboxes):
        PathStep.create(organisation=item.organisation_id, item=item, inbox=inbox,
                        position=position)


def form_data(contact, /, **overrides):
    """A complete, valid escalation form as the browser posts it, ``contact`` as the requester."""
    data = {
        "requester": service.person_of_contact(contact).key,
        "requested_for": "",
        "subject": "Laptop does not start after the update",
        "description": ("Since this morning the laptop shows a black screen after the Apple "
                        "logo. The user was installing the latest macOS update when it stopped."),
        "troubleshooting": "Restarted twice, reset NVRAM, tried safe mode: still black.",
        "serial_number": " c02xk1y2 jg5h ",
        "colleagues": "only_user",
        "colleagues_note": "",
        "priority": "3",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def form_values(requester, **overrides):
    person = requester if isinstance(requester, service.Person) else \
        service.person_of_contact(requester)
    values = dict(requester=person,
                  subject="Laptop does not start after the update",
                  description="Black screen after the Apple logo since this morning's update.",
                  troubleshooting="Restarted twice, reset NVRAM, tried safe mode.",
                  serial_number=SERIAL, colleagues="only_user", priority=3)
    values.update(overrides)
    return service.FormValues(**values)


def png(width=2, height=2, extra=b""):
    """A real, minimal PNG (grey pixels)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + extra + chunk(b"IEND", b""))


JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 64 + b"\xff\xd9")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LOG = b"2026-11-02 09:12:01 kernel: usb 1-1: device not accepting address 5, error -71\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<circle r='5'/></svg>")
GIF_POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;<script>alert(1)</script>"


# ------------------------------------------------------------------------------------------------
# Fixtures (import them into a test module by name)

@pytest.fixture
def desk(org, agent):
    return make_desk(org, agent)


class _SmtpInbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on loopback at a free port; the app sends its mail there.
    ``smtp_server.messages`` is a list of (recipients, email.message.EmailMessage). The one SMTP
    fixture of the test suite (the SLA tests use it too, with ``factories_sla.mail_to``)."""
    from aiosmtpd.controller import Controller
    handler = _SmtpInbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_STARTTLS=False,
                      MAIL_FROM="Eskalera Support <support@eskalera.test>",
                      PUBLIC_URL="https://desk.example.test")
    try:
        yield handler
    finally:
        controller.stop()
