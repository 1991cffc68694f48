"""Sign in and out through the test client, with CSRF on."""
from escalation.models import AuditEvent, Member, User

from .factories import PASSWORD, make_member, make_org


def test_sign_in_page(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert 'name="email"' in response.get_data(as_text=True)


def test_sign_in_renews_the_session_and_lands_on_start(client, agent):
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    response = client.post("/auth/login", data={"email": agent.user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{agent.id}.0"
    assert AuditEvent.select().where(AuditEvent.action == "member.signed_in").count() == 1


def test_bad_credentials_are_422_with_the_email_kept_in_english_and_swedish(client, agent):
    response = client.post("/auth/login", data={"email": agent.user.email, "password": "nope"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "That email and password do not match an account." in text
    assert f'value="{agent.user.email}"' in text
    assert "nope" not in text
    response = client.post("/auth/login", data={"email": agent.user.email, "password": "nope"},
                           headers={"Accept-Language": "sv"})
    assert "E-postadressen och lösenordet stämmer inte med något konto." in response.get_data(as_text=True)


def test_htmx_sign_in_failure_returns_the_form_fragment(client, agent):
    response = client.post("/auth/login", data={"email": agent.user.email, "password": "nope"},
                           htmx=True)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "<html" not in text and 'id="login-form"' in text
    assert "HX-Request" in response.headers.get("Vary", "")


def test_unknown_account_gets_the_same_response(client, agent):
    known = client.post("/auth/login", data={"email": agent.user.email, "password": "nope"})
    unknown = client.post("/auth/login", data={"email": "ghost@example.test", "password": "nope"})
    import re

    def strip(response, email):  # the CSRF tokens carry a timestamp; the typed email is echoed
        text = response.get_data(as_text=True).replace(email, "")
        text = re.sub(r'(csrf[-_]token[^>]*?(value|content)=")[^"]+"', r"\1", text)
        return re.sub(r'("X-CSRFToken": ")[^"]+"', r"\1", text)
    assert known.status_code == unknown.status_code == 422
    assert strip(known, agent.user.email) == strip(unknown, "ghost@example.test")


def test_throttling_is_shared_and_says_so(app, client, agent):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/auth/login", data={"email": agent.user.email, "password": "nope"})
    other_client = app.test_client()  # another browser (or another worker): same database
    response = other_client.post("/auth/login", data={"email": agent.user.email, "password": PASSWORD},
                                 headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    with other_client.session_transaction() as session:
        assert "_user_id" not in session


def test_next_is_followed_only_within_the_site(client, agent):
    response = client.post("/auth/login", data={"email": agent.user.email, "password": PASSWORD,
                                                "next": "https://evil.example/steal"})
    assert response.headers["Location"] in ("/", "http://localhost/")
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"email": agent.user.email, "password": PASSWORD,
                                                "next": "/auth/account"})
    assert response.headers["Location"].endswith("/auth/account")
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"email": agent.user.email, "password": PASSWORD,
                                                "next": "//evil.example/x"})
    assert "evil" not in response.headers["Location"]


def test_sign_out_is_post_only_and_ends_the_session(client, agent, login):
    login(agent)
    assert client.get("/auth/logout").status_code == 405
    response = client.post("/auth/logout")
    assert response.status_code == 303
    page = client.get("/auth/account")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]


def test_post_without_csrf_token_is_refused(client, agent):
    response = client.post("/auth/login", data={"email": agent.user.email, "password": PASSWORD},
                           csrf=False)
    assert response.status_code == 400


def test_anonymous_page_request_redirects_to_sign_in(client):
    response = client.get("/auth/account")
    assert response.status_code == 302
    assert "/auth/login?next=" in response.headers["Location"]


def test_anonymous_htmx_request_gets_401_with_hx_redirect(client):
    response = client.get("/auth/account", htmx=True)
    assert response.status_code == 401
    assert "/auth/login" in response.headers["HX-Redirect"]


def test_deactivation_ends_the_session_at_once(client, agent, login):
    login(agent)
    assert client.get("/auth/account").status_code == 200
    Member.update(active=False).where(Member.id == agent.id).execute()
    response = client.get("/auth/account")
    assert response.status_code == 302


def test_password_change_keeps_this_session_and_ends_others(app, client, agent, login):
    login(agent)
    other = app.test_client()
    from tests.conftest import AuthActions
    AuthActions(other).login(agent)
    response = client.post("/auth/password", data={"pw-current_password": PASSWORD,
                                                   "pw-new_password": "another long password",
                                                   "pw-confirm": "another long password"})
    assert response.status_code == 303
    assert client.get("/auth/account").status_code == 200
    assert other.get("/auth/account").status_code == 302


def test_password_change_errors_are_422_at_the_fields(client, agent, login):
    login(agent)
    response = client.post("/auth/password", data={"pw-current_password": "wrong",
                                                   "pw-new_password": "short",
                                                   "pw-confirm": "different"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="pw-new_password-error"' in text
    assert "The passwords do not match." in text


def test_preferences_set_the_language(client, agent, login):
    login(agent)
    response = client.post("/auth/account", data={"prefs-locale": "sv", "prefs-timezone": "Europe/Stockholm"})
    assert response.status_code == 303
    assert User.get_by_id(agent.user_id).locale == "sv"
    assert "Ditt konto" in client.get("/auth/account").get_data(as_text=True)


def test_invalid_preferences_are_422(client, agent, login):
    login(agent)
    response = client.post("/auth/account", data={"prefs-locale": "klingon", "prefs-timezone": ""})
    assert response.status_code == 422
    assert User.get_by_id(agent.user_id).locale == "en"


def test_switch_between_organisations(client, agent, login):
    second_org = make_org(name="Second Org")
    second = make_member(second_org, "admin", user=agent.user)
    login(agent)
    page = client.get("/auth/account").get_data(as_text=True)
    assert "Second Org" in page
    response = client.post("/auth/organisation", data={"member_id": second.id})
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert session["_user_id"].startswith(f"{second.id}.")


def test_cannot_switch_into_someone_elses_membership(client, agent, outsider, login):
    login(agent)
    response = client.post("/auth/organisation", data={"member_id": outsider.id})
    assert response.status_code == 404
    with client.session_transaction() as session:
        assert session["_user_id"].startswith(f"{agent.id}.")


def test_htmx_sign_in_success_navigates_the_whole_page(client, agent):
    # boosted too: a new session and perhaps a new language need a full page (html lang, CSRF)
    for htmx in (True, "boosted"):
        response = client.post("/auth/login", data={"email": agent.user.email,
                                                    "password": PASSWORD}, htmx=htmx)
        assert response.status_code == 200
        assert response.headers["HX-Redirect"].endswith("/")
        client.post("/auth/logout")
        client.refresh_csrf()


def test_language_switch_under_htmx_reloads_the_page(client):
    client.get("/auth/login")
    response = client.post("/auth/language", data={"locale": "sv", "next": "/auth/login"},
                           htmx="boosted")
    assert response.headers["HX-Redirect"] == "/auth/login"


def test_fields_are_marked_invalid_only_when_in_error(client, agent):
    page = client.get("/auth/login").get_data(as_text=True)
    assert "aria-invalid" not in page and "None" not in page
    failed = client.post("/auth/login", data={"email": "", "password": "x"}).get_data(as_text=True)
    assert 'aria-invalid="true"' in failed and 'aria-describedby="email-error"' in failed
