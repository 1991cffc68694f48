"""Demo data: one organisation with a member per role, queues, contacts and cases.

Idempotent: running it again finds what is there and adds nothing twice.
"""
import random
from datetime import timedelta

from .auth.service import hash_password
from .clock import utcnow
from .db import database
from .models import (Case, Contact, Inbox, InboxOwner, Member, Message, Organisation, Queue,
                     QueueMember, User)

DEMO_PASSWORD = "eskalera-demo"

DEMO_MEMBERS = [
    # email, name, role, locale
    ("agda@demo.eskalera.se", "Agda Andersson", "owner", "sv"),
    ("adam@demo.eskalera.se", "Adam Admin", "admin", "en"),
    ("stina@demo.eskalera.se", "Stina Svensson", "supervisor", "sv"),
    ("karin@demo.eskalera.se", "Karin Karlsson", "agent", "sv"),
    ("erik@demo.eskalera.se", "Erik Eriksson", "agent", "sv"),
    ("emma@demo.eskalera.se", "Emma English", "agent", "en"),
]

QUEUES = [("Servicedesk", 1), ("Texting campaign replies", 1), ("Hardware L2", 2)]

SUBJECTS = [
    "Skrivaren på plan 3 skriver inte ut", "VPN kopplar ner var tionde minut",
    "Ny mus till Karin", "Kan inte logga in i lönesystemet", "Mobilen startar om hela tiden",
    "Outlook synkar inte kalendern", "Laptop overheating during meetings",
    "Cannot reach the shared drive", "Screen flickers on the docking station",
    "Request for a second monitor", "Teams audio drops", "Password reset loop",
]
CONTACT_NAMES = ["Lena Lind", "Per Persson", "Maja Magnusson", "Olof Olsson", "Sara Sandberg",
                 "John Smith", "Maria Garcia", "Ahmed Hassan"]


def _user(email, name, locale):
    user = User.get_or_none(User.email == email)
    if user is None:
        user = User.create(email=email, name=name, locale=locale,
                           password_hash=hash_password(DEMO_PASSWORD))
    return user


def _member(org, user, role):
    member = Member.get_or_none((Member.organisation == org) & (Member.user == user))
    if member is None:
        member = Member.create(organisation=org, user=user, role=role)
    return member


def seed(now=None) -> str:
    now = now or utcnow()
    rng = random.Random(7)
    with database.atomic():
        org = Organisation.get_or_none(Organisation.slug == "demo")
        if org is None:
            org = Organisation.create(name="Demo Service Desk", slug="demo", default_locale="sv",
                                      timezone="Europe/Stockholm")
        members = {email: _member(org, _user(email, name, locale), role)
                   for email, name, role, locale in DEMO_MEMBERS}
        # A second organisation, so switching between organisations can be tried.
        other = Organisation.get_or_none(Organisation.slug == "demo-parish")
        if other is None:
            other = Organisation.create(name="Demo Parish IT", slug="demo-parish",
                                        default_locale="sv")
        _member(other, members["agda@demo.eskalera.se"].user, "owner")

        queues = {}
        for name, tier in QUEUES:
            queue = Queue.get_or_none((Queue.organisation == org) & (Queue.name == name))
            queues[name] = queue or Queue.create(organisation=org, name=name, tier=tier)
        agents = [m for m in members.values() if m.role == "agent"]
        for queue in list(queues.values())[:2]:
            for agent in agents:
                if not QueueMember.select().where((QueueMember.queue == queue)
                                                  & (QueueMember.member == agent)).exists():
                    QueueMember.create(queue=queue, member=agent)

        inbox = Inbox.get_or_none((Inbox.organisation == org) & (Inbox.name == "Hardware"))
        if inbox is None:
            inbox = Inbox.create(organisation=org, name="Hardware", tier=2, batch_size=3,
                                 assignment_minutes=60,
                                 description="Broken devices, spare parts, repairs.")
            for email in ("stina@demo.eskalera.se", "adam@demo.eskalera.se"):
                InboxOwner.create(inbox=inbox, member=members[email])

        contacts = []
        for index, name in enumerate(CONTACT_NAMES):
            contact = Contact.get_or_none((Contact.organisation == org) & (Contact.name == name))
            if contact is None:
                contact = Contact.create(organisation=org, name=name,
                                         email=f"{name.split()[0].lower()}@example.com",
                                         locale="en" if index >= 5 else "sv")
            contacts.append(contact)

        created = 0
        if not Case.select().where(Case.organisation == org).exists():
            for index in range(36):
                opened = now - timedelta(hours=rng.randint(1, 240), minutes=rng.randint(0, 59))
                queue = list(queues.values())[index % 2]
                assignee = agents[(index // 3) % len(agents)] if index % 3 else None
                case = Case.create(
                    organisation=org, subject=SUBJECTS[index % len(SUBJECTS)],
                    requester=contacts[index % len(contacts)],
                    requested_for=contacts[(index + 3) % len(contacts)] if index % 5 == 0 else None,
                    queue=queue, assignee=assignee, priority=rng.choice((1, 2, 2, 3, 4)),
                    status="open", reply_status="needs_response", waiting_since=opened,
                    created_at=opened, updated_at=opened)
                Message.create(organisation=org, case=case, kind="in", contact=case.requester,
                               body="Hej! " + case.subject + ". Kan ni hjälpa mig?",
                               created_at=opened)
                if assignee is not None and index % 4 == 1:
                    from .cases.demo import add_conversation
                    add_conversation(case, assignee, opened, now)
                created += 1
        # The service catalog: Hantering → Eskalering, its path through the demo's inboxes.
        from .escalations.service import ensure_default_catalog
        ensure_default_catalog(org, now=now)
    return (f"Demo organisation '{org.name}': {len(members)} members, {len(queues)} queues, "
            f"{created} new cases.")
