#!/usr/bin/env python3
"""Set-up and everyday commands, with nothing but Python 3.11+ on the machine.

    python3 dev.py demo     install, build catalogs, migrate, load demo data, start gunicorn
    python3 dev.py test     install (with test extras) and run the whole test suite
"""
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed"


def run(*args, **kwargs):
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)


def ensure_venv(extras="test"):
    if not PY.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = f"{extras}:{(ROOT / 'pyproject.toml').stat().st_mtime}"
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("Installing dependencies ...", flush=True)
        run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]" if extras else ".")
        STAMP.write_text(wanted)


def flask(*args, env=None):
    run(PY, "-m", "flask", "--app", "app", *args, env=env)


def demo_env():
    instance = ROOT / "instance"
    instance.mkdir(exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return dict(os.environ)


def demo(argv):
    ensure_venv()
    env = demo_env()
    flask("compile-translations", env=env)
    flask("migrate", env=env)
    flask("seed-demo", env=env)
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    print(f"""
Eskalera is starting on http://{host}:{port}/

Sign in with any of these (password: eskalera-demo):
  agda@demo.eskalera.se    owner       (svenska; also owner of a second organisation)
  adam@demo.eskalera.se    admin       (English)
  stina@demo.eskalera.se   supervisor  (svenska)
  karin@demo.eskalera.se   agent       (svenska)
  erik@demo.eskalera.se    agent       (svenska)
  emma@demo.eskalera.se    agent       (English)
Stop with Ctrl+C.
""", flush=True)
    # The SLA sweep (breach ladder, auto-close, pending mail) every minute, beside the web server.
    sweeper = subprocess.Popen([str(PY), "-m", "flask", "--app", "app", "sla", "sweep", "--every", "60"],
                               cwd=ROOT, env=env)
    try:
        subprocess.run([str(BIN / "gunicorn"), "--workers", os.environ.get("WORKERS", "3"),
                        "--bind", f"{host}:{port}", "--access-logfile", "-", "app:app"],
                       cwd=ROOT, env=env)
    except KeyboardInterrupt:
        pass
    finally:
        sweeper.terminate()
        sweeper.wait(timeout=10)


def test(argv):
    ensure_venv()
    run(PY, "-m", "flask", "--app", "app", "compile-translations",
        env={**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "compile-only")})
    result = subprocess.run([str(PY), "-m", "pytest", *argv], cwd=ROOT)
    sys.exit(result.returncode)


COMMANDS = {"demo": demo, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])
