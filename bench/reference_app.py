"""The minimal reference the benchmark compares Eskalera's pages with, under the same gunicorn
settings and on the same database:

- ``/list``: a bare Flask + Peewee + Jinja page (no sign-in, no i18n, no CSRF) listing the newest
  50 rows of ``support_case`` with a total count of the table (``?page=N``: OFFSET paging, for
  comparison with the keyset deep pages);
- ``/detail/<id>``: one case and its messages (the bare counterpart of the case page);
- ``/hello``: a bare Flask hello-world (the floor: what gunicorn + Flask cost alone).

    DATABASE_URL=sqlite:///... gunicorn --workers 3 --pythonpath bench reference_app:app

Like the app, it opens a connection per request (nothing before gunicorn forks) and uses the same
SQLite settings (WAL, busy timeout).
"""
import os
from pathlib import Path

from flask import Flask, abort, render_template, request
from peewee import CharField, DateTimeField, IntegerField, Model, TextField, fn
from playhouse.db_url import connect

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///bench.db")
if DATABASE_URL.startswith("sqlite"):
    db = connect(DATABASE_URL, pragmas={"journal_mode": "wal", "busy_timeout": 10000},
                 timeout=10)
else:
    db = connect(DATABASE_URL)


class SupportCase(Model):
    subject = CharField()
    status = CharField()
    reply_status = CharField()
    priority = IntegerField()
    created_at = DateTimeField()

    class Meta:
        database = db
        table_name = "support_case"


class Message(Model):
    case_id = IntegerField()
    kind = CharField()
    body = TextField()
    created_at = DateTimeField()

    class Meta:
        database = db
        table_name = "message"


app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "reference_templates"))


@app.before_request
def _connect():
    db.connect(reuse_if_open=True)


@app.teardown_request
def _close(exc):
    if not db.is_closed():
        db.close()


@app.get("/hello")
def hello():
    return "Hello, World!"


@app.get("/list")
def case_list():
    page = max(1, request.args.get("page", 1, type=int))  # OFFSET paging, as a bare page would
    rows = list(SupportCase.select().order_by(SupportCase.id.desc()).limit(50)
                .offset((page - 1) * 50))
    total = SupportCase.select(fn.COUNT(SupportCase.id)).scalar()
    return render_template("list.html", rows=rows, total=total)


@app.get("/detail/<int:case_id>")
def detail(case_id):
    case = SupportCase.get_or_none(SupportCase.id == case_id)
    if case is None:
        abort(404)
    messages = list(Message.select().where(Message.case_id == case_id)
                    .order_by(Message.created_at, Message.id))
    return render_template("detail.html", case=case, messages=messages)
