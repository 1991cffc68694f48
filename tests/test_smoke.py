def test_login_page_renders(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b"csrf-token" in response.data


def test_login_and_landing(client, agent, login):
    login(agent)
    response = client.get("/")
    assert response.status_code == 200


def test_reply_queue_of_lists_the_agents_waiting_cases_oldest_first(db, org, agent):
    from datetime import timedelta

    from escalation.models import Case

    from .factories import NOW, make_case, make_queue
    queue = make_queue(org, members=[agent])
    newer = make_case(org, queue, assignee=agent, waiting_since=NOW)
    older = make_case(org, queue, assignee=agent, waiting_since=NOW - timedelta(hours=1))
    make_case(org, queue, assignee=agent, reply_status="responded")
    make_case(org, queue, assignee=None)
    assert [c.id for c in Case.reply_queue_of(agent)] == [older.id, newer.id]
