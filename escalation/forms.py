"""The base form: domain errors from services become field errors (or the summary)."""
from flask_wtf import FlaskForm
from wtforms import SelectChoice


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
