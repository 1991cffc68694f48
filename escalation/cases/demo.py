"""Demo conversations, so the demo's timelines read like real ones (used by escalation/demo.py)."""
from datetime import timedelta

from . import service


def add_conversation(case, member, opened, now):
    """The agent answers, notes what they did, and (when time allows) the contact writes back,
    so the case needs a reply again."""
    answered = min(opened + timedelta(minutes=20), now)
    service.reply(case, member, now=answered,
                  body="Hej! Tack för att du hörde av dig. Vi tittar på det och återkommer.")
    service.add_note(case, member, now=answered,
                     body="Kollat i inventarielistan: enheten är under garanti.")
    if opened + timedelta(hours=2) < now:
        service.record_inbound(case, now=opened + timedelta(hours=2),
                               body="Tack! Det fungerar fortfarande inte, vad gör jag nu?")
