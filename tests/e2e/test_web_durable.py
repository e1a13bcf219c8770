"""Web sessions and API tokens are kept in the store: a restart (or another node) keeps them."""
import http.client
import json


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    data = r.read()
    return r.status, r.getheader("Set-Cookie"), (json.loads(data) if data.startswith(b"{") or data.startswith(b"[") else data)


def test_sessions_and_tokens_survive_a_restart(make_server):
    s = make_server()
    s.add_domain("example.com")
    s.add_user("ann@example.com")
    s.start()
    status, cookie, me = request(s.http_port, "POST", "/api/v1/session",
                                 {"login": "ann@example.com", "password": "a-good-password"})
    assert status == 200, me
    cookie = cookie.split(";")[0]
    csrf = me["csrf_token"]
    status, _, created = request(s.http_port, "POST", "/api/v1/tokens", {"name": "backup script"},
                                 {"Cookie": cookie, "X-CSRF-Token": csrf})
    assert status == 201, created
    secret = created["token_secret"]
    s.stop()
    s.ports, s.log = {}, []
    s.start()
    status, _, me = request(s.http_port, "GET", "/api/v1/me", headers={"Cookie": cookie})
    assert status == 200 and me["address"] == "ann@example.com", me
    status, _, me = request(s.http_port, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert status == 200 and me["address"] == "ann@example.com", me
    # Revoked means revoked, and a wrong token is refused.
    status, _, _ = request(s.http_port, "DELETE", f"/api/v1/tokens/{created['id']}",
                           headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    assert status == 204
    status, _, _ = request(s.http_port, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert status == 401
