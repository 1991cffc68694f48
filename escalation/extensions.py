"""Extension objects, initialised by the app factory."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
htmx = Htmx()
