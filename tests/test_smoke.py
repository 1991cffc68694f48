def test_login_page_renders(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b"csrf-token" in response.data


def test_login_and_landing(client, agent, login):
    login(agent)
    response = client.get("/")
    assert response.status_code == 200
