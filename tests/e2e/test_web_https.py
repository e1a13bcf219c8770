"""The panels over HTTPS (listen.https, with the server's certificate): pages load, and the
session cookie is Secure, HttpOnly and SameSite=Strict."""
import http.client
import time
import urllib.parse

from conftest import tls_context


def test_panels_over_https_with_a_secure_cookie(make_server):
    s = make_server()
    # listen.https goes in the [listen] table the harness writes.
    text = s.config.read_text().replace('http = ["127.0.0.1:0"]\n', 'http = ["127.0.0.1:0"]\nhttps = ["127.0.0.1:0"]\n')
    s.config.write_text(text)
    s.add_domain("example.com")
    s.add_user("ann@example.com")
    s.start()
    deadline = time.time() + 10
    while "Https" not in s.ports and time.time() < deadline:
        time.sleep(0.05)
    port = s.ports["Https"]
    c = http.client.HTTPSConnection("127.0.0.1", port, context=tls_context(), timeout=10)
    c.request("GET", "/login")
    r = c.getresponse()
    assert r.status == 200 and b"E-mail address" in r.read()
    body = urllib.parse.urlencode({"login": "ann@example.com", "password": "a-good-password"})
    c.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie")
    assert r.status in (302, 303) and cookie, (r.status, cookie)
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "secure" in attrs and "httponly" in attrs and "samesite=strict" in attrs, cookie
    # The same session works for the panel.
    c.request("GET", "/panel", headers={"Cookie": cookie.split(";")[0]})
    r = c.getresponse()
    assert r.status == 200 and b"Delivery Rules" in r.read()
