"""Sending mail, shared by every area.

- ``render_mail(template, locale, **ctx)`` renders ``templates/mail/<template>.txt`` in the
  recipient's language (``flask_babel.force_locale``) and returns a ``Mail(subject, body)``.
  A mail template's first line is the subject; the body starts after the first blank line.
  If ``templates/mail/<template>.html`` exists it is rendered too, as the HTML alternative.
- ``send_mail(to, subject, body, *, html=None)`` sends through the SMTP server in the app config
  (``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``, ``SMTP_STARTTLS``,
  ``MAIL_FROM``). With no ``SMTP_HOST`` the message is written to the log instead.

Both need an app context. Send after the transaction that decided to send has committed, and
treat a failure to send as something to log, not a reason to undo the work: ``deliver`` does both.
"""
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound

log = logging.getLogger("escalation.mail")


@dataclass
class Mail:
    subject: str
    body: str
    html: str | None = None


def render_mail(template: str, locale: str | None, **ctx) -> Mail:
    """The mail ``template`` rendered in ``locale`` (falling back to the app's default)."""
    languages = current_app.config.get("LANGUAGES", ["sv", "en"])
    locale = locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        text = render_template(f"mail/{template}.txt", mail_locale=locale, **ctx)
        try:
            html = render_template(f"mail/{template}.html", mail_locale=locale, **ctx)
        except TemplateNotFound:
            html = None
    head, _, body = text.lstrip("\n").partition("\n\n")
    return Mail(subject=one_line(head), body=body.strip("\n") + "\n", html=html)


def one_line(text: str) -> str:
    """Header-safe: no line breaks (no header injection), collapsed whitespace."""
    return re.sub(r"\s+", " ", text or "").strip()


def build_message(to: str, subject: str, body: str, *, html=None) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = one_line(to)
    message["Subject"] = one_line(subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "eskalera.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def send_mail(to: str, subject: str, body: str, *, html=None) -> EmailMessage:
    """Send one message (or log it when no SMTP server is configured). Raises on SMTP errors."""
    message = build_message(to, subject, body, html=html)
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        log.info("Mail not sent (no SMTP_HOST configured):\n%s", message.as_string())
        return message
    with smtplib.SMTP(host, int(config.get("SMTP_PORT") or 25), timeout=30) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)
    return message


def deliver(to: str | None, template: str, locale: str | None, **ctx) -> bool:
    """Render and send; True when sent (or logged), False when there is no address or sending
    failed (the failure is logged)."""
    if not to:
        return False
    mail = render_mail(template, locale, **ctx)
    try:
        send_mail(to, mail.subject, mail.body, html=mail.html)
    except (OSError, smtplib.SMTPException):
        log.exception("Could not send the %s mail to %s", template, to)
        return False
    return True
