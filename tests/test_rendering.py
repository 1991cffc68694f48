"""Rendering shortcuts keep the exact output of what they replace."""
import itertools

from markupsafe import Markup

from escalation import forms


def test_html_params_gives_the_same_text_as_wtforms():
    original = forms.html_params.original
    values = ["plain", 'a "quoted" <b>&amp;</b>', Markup('<i>safe "x"</i>'), 0, 12, 3.5, None,
              True, False, "", "åäö €", Markup("&quot;")]
    keys = ["id", "class_", "for_", "data_hx_target", "aria_describedby", "aria_invalid",
            "name", "value", "selected", "x\"y", "<k>"]
    cases = [{}]
    for key, value in itertools.product(keys, values):
        cases.append({key: value})
    for combo in itertools.combinations(keys, 3):
        for value_set in itertools.islice(itertools.product(values, repeat=3), 0, None, 37):
            cases.append(dict(zip(combo, value_set)))
    for kwargs in cases:
        fast, slow = forms.html_params(**kwargs), original(**kwargs)
        assert fast == slow and type(fast) is type(slow), kwargs


def test_wtforms_widgets_use_it_and_render_as_before(monkeypatch):
    import wtforms.widgets
    from wtforms import Form, SelectField, StringField, TextAreaField
    from wtforms.widgets import core

    class Sample(Form):
        name = StringField("Name <b>", default='x"y')
        body = TextAreaField("Body", default="<script>")
        pick = SelectField("Pick", choices=forms.choices([("a", "A & B"), ("b", '"B"')]),
                           default="b")

    def render(form):
        return [str(form.name(class_="c", aria_invalid=False, data_x="1")),
                str(form.body(rows=3)), str(form.pick(required=True)), str(form.name.label())]

    assert core.html_params is forms.html_params is wtforms.widgets.html_params
    fast = render(Sample())
    original = forms.html_params.original
    monkeypatch.setattr(core, "html_params", original)
    monkeypatch.setattr(wtforms.widgets, "html_params", original)
    monkeypatch.setattr(core.Input, "html_params", staticmethod(original))
    assert render(Sample()) == fast
    assert 'value="x&#34;y"' in fast[0] and "&lt;script&gt;" in fast[1]
