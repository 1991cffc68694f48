"""Defaults, then the environment. Tests pass a dict to ``create_app`` on top of these."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def defaults() -> dict:
    return {
        "DATABASE_URL": f"sqlite:///{INSTANCE / 'eskalera.db'}",
        "SQLITE_BUSY_TIMEOUT": 10.0,
        # Each worker keeps its connections open between requests (at most this many at once,
        # closed after DATABASE_POOL_STALE seconds idle); 0 opens one per request.
        "DATABASE_POOL": 32,
        "DATABASE_POOL_STALE": 300,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "LANGUAGES": ["sv", "en"],
        "PAGE_SIZE": 50,
        "REPLY_BATCH_SIZE": 5,
        # Sign-in throttling (kept in the database, shared by every worker and host).
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_SECONDS": 15 * 60,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        "MAIL_FROM": "Eskalera <noreply@eskalera.invalid>",
        "SMTP_HOST": None,
        "SMTP_PORT": 25,
        "SMTP_USER": None,
        "SMTP_PASSWORD": None,
        "SMTP_STARTTLS": False,
    }


def from_environment() -> dict:
    """Settings a deployment gives through the environment."""
    env = {}
    for key in ("DATABASE_URL", "SECRET_KEY", "SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM",
                "PUBLIC_URL"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    for key in ("DATABASE_POOL", "DATABASE_POOL_STALE"):
        if os.environ.get(key):
            env[key] = int(os.environ[key])
    if os.environ.get("SMTP_PORT"):
        env["SMTP_PORT"] = int(os.environ["SMTP_PORT"])
    if os.environ.get("SMTP_STARTTLS"):
        env["SMTP_STARTTLS"] = os.environ["SMTP_STARTTLS"].lower() in ("1", "true", "yes")
    if os.environ.get("SESSION_COOKIE_SECURE"):
        env["SESSION_COOKIE_SECURE"] = os.environ["SESSION_COOKIE_SECURE"].lower() in ("1", "true", "yes")
    return env


def instance_secret_key() -> str | None:
    """The demo's generated secret, kept in the instance folder (never a literal in code)."""
    path = INSTANCE / "secret_key"
    if path.exists():
        return path.read_text().strip()
    return None
