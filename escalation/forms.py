"""The base form: domain errors from services become field errors (or the summary)."""
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectChoice
from wtforms import widgets as _widgets
from wtforms.widgets import core as _widgets_core

_wtforms_html_params = getattr(_widgets_core.html_params, "original", _widgets_core.html_params)


def html_params(**kwargs):
    """``wtforms.widgets.html_params``, the same text, ~5× faster: WTForms builds each attribute
    with ``Markup.format`` (Python's string formatter), which was most of the time of rendering
    a field, and a case page renders some thirty fields and options."""
    parts = []
    for key, value in sorted(kwargs.items()):
        key = _widgets_core.clean_key(key)
        if value is True:
            parts.append(str(escape(key)))
        elif value is not False:
            parts.append(f'{escape(key)}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(parts))


html_params.original = _wtforms_html_params
# Where the widgets look it up: the module (TextArea, Select, options), the package (Label) and
# the class attributes of Input and Button (bound when WTForms was imported).
_widgets_core.html_params = _widgets.html_params = html_params
_widgets_core.Input.html_params = _widgets_core.Button.html_params = staticmethod(html_params)


def choices(pairs):
    """``SelectChoice`` objects from (value, label) pairs (WTForms 3.3 deprecates tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


class BaseForm(FlaskForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_errors_extra = []

    def populate_errors(self, invalid):
        """Put an ``Invalid``'s reasons on their fields; reasons for no field go to the summary."""
        for field_name, message in invalid.reasons:
            field = getattr(self, field_name, None) if field_name else None
            if field is not None and hasattr(field, "errors"):
                if not isinstance(field.errors, list):
                    field.errors = list(field.errors)
                field.errors.append(message)
            else:
                self.form_errors_extra.append(message)

    def error_summary(self):
        """(field id or None, label, message) for every error, in field order."""
        rows = [(None, None, message) for message in self.form_errors_extra]
        for field in self:
            for message in field.errors or ():
                if isinstance(message, (list, tuple)):
                    continue
                rows.append((field.id, field.label.text, message))
        return rows
