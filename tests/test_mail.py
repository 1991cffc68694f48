"""The shared mail module, and the requester's email on escalation, through a real SMTP server
(aiosmtpd on 127.0.0.1)."""
import logging
from types import SimpleNamespace

import pytest

from escalation.mail import deliver, render_mail, send_mail
from escalation.models import AuditEvent, Case

from . import factories
from . import factories_escalations as fx
from .factories_escalations import _free_port, desk, smtp_server  # noqa: F401  (fixtures)


def _body(message):
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_send_mail_goes_through_smtp(app, smtp_server):
    with app.app_context():
        send_mail("lena@example.test", "Hej\r\nBcc: evil@example.test", "Brödtext åäö\n",
                  html="<p>Brödtext</p>")
    [(recipients, message)] = smtp_server.messages
    assert recipients == ["lena@example.test"]
    assert message["To"] == "lena@example.test"
    assert message["From"] == "Eskalera Support <support@eskalera.test>"
    assert message["Subject"] == "Hej Bcc: evil@example.test"  # no header injection
    assert message["Bcc"] is None and message["Message-ID"].endswith("@eskalera.test>")
    assert _body(message) == "Brödtext åäö\n"
    assert message.get_body(("html",)).get_content().strip() == "<p>Brödtext</p>"


def test_without_an_smtp_host_the_mail_is_logged(app, caplog):
    app.config["SMTP_HOST"] = None
    with app.app_context(), caplog.at_level(logging.INFO, logger="escalation.mail"):
        send_mail("per@example.test", "Testing", "Nothing is sent.")
    assert "Mail not sent (no SMTP_HOST configured)" in caplog.text
    assert "per@example.test" in caplog.text and "Nothing is sent." in caplog.text


def test_a_failed_send_is_logged_not_raised(app, caplog):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port())  # nobody listens there
    case = SimpleNamespace(id=7)
    with app.app_context(), caplog.at_level(logging.ERROR, logger="escalation.mail"):
        sent = deliver("per@example.test", "escalated_requester", "en", case=case,
                       contact=SimpleNamespace(name="Per"), organisation=SimpleNamespace(name="IT"),
                       subject="Printer", tier=2)
    assert sent is False
    assert "Could not send the escalated_requester mail" in caplog.text


@pytest.mark.parametrize("locale,subject,lines", [
    ("en", "Case #42: passed on to our specialists",
     ["Hello Lena Lind,", "Your case #42, “Skrivaren skriver inte”, has been passed on to our "
      "specialists", "What happens next:", "Kind regards,\nKyrkans IT"]),
    ("sv", "Ärende #42 har skickats vidare till våra specialister",
     ["Hej Lena Lind,", "Ditt ärende #42, ”Skrivaren skriver inte”, har skickats vidare till "
      "våra specialister", "Så här går det vidare:", "Vänliga hälsningar\nKyrkans IT"]),
])
def test_render_mail_in_the_recipients_language(app, locale, subject, lines):
    with app.test_request_context(headers={"Accept-Language": "sv" if locale == "en" else "en"}):
        mail = render_mail("escalated_requester", locale, case=SimpleNamespace(id=42),
                           contact=SimpleNamespace(name="Lena Lind"),
                           organisation=SimpleNamespace(name="Kyrkans IT"),
                           subject="Skrivaren skriver inte", tier=2)
    assert mail.subject == subject
    for line in lines:
        assert line in mail.body, line
    assert not mail.body.startswith("\n")


# ------------------------------------------------------------------------------------------------
# The requester's email on escalation

def _escalate(client, login, desk, contact):
    case = factories.make_case(desk.org, desk.queue, requester=contact, assignee=desk.agent,
                               subject="Skrivaren på plan 3 skriver inte ut")
    login(desk.agent)
    data = fx.form_data(contact, subject="Skrivaren på plan 3 skriver inte ut")
    response = client.post(f"/escalations/form?item={desk.item.id}&case={case.id}", data=data)
    assert response.status_code == 303
    return case


@pytest.mark.parametrize("locale,expected", [
    ("sv", ["Ärende #{n} har skickats vidare till våra specialister",
            "Ditt ärende #{n}, ”Skrivaren på plan 3 skriver inte ut”, har skickats vidare",
            "Så här går det vidare: en specialist tar ärendet"]),
    ("en", ["Case #{n}: passed on to our specialists",
            "Your case #{n}, “Skrivaren på plan 3 skriver inte ut”, has been passed on",
            "What happens next: a specialist takes the case"]),
])
def test_the_requester_is_emailed_in_their_language(client, login, desk, smtp_server, locale,
                                                   expected):
    contact = factories.make_contact(desk.org, name="Lena Lind", email="lena@example.test",
                                     locale=locale)
    case = _escalate(client, login, desk, contact)
    mails = [m for rcpt, m in smtp_server.messages if rcpt == ["lena@example.test"]]
    assert len(mails) == 1
    message = mails[0]
    subject, body = expected[0].format(n=case.id), _body(mails[0])
    assert message["Subject"] == subject
    for line in expected[1:]:
        assert line.format(n=case.id) in body
    event = AuditEvent.get(AuditEvent.action == "escalations.requester_notified")
    assert event.data["sent"] is True and event.data["locale"] == locale


def test_a_contact_without_a_language_gets_the_organisations(client, login, desk, smtp_server):
    desk.org.default_locale = "sv"
    desk.org.save()
    contact = factories.make_contact(desk.org, email="olof@example.test", locale=None)
    _escalate(client, login, desk, contact)
    [(_, message)] = [m for m in smtp_server.messages if m[0] == ["olof@example.test"]]
    assert "har skickats vidare till våra specialister" in message["Subject"]


def test_the_escalation_stands_when_the_mail_cannot_be_sent(client, login, desk, app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port())
    contact = factories.make_contact(desk.org, email="maja@example.test")
    case = _escalate(client, login, desk, contact)
    assert Case.get_by_id(case.id).inbox_id == desk.l2.id
    event = AuditEvent.get(AuditEvent.action == "escalations.requester_notified")
    assert event.data["sent"] is False
