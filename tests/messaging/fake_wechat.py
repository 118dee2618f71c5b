"""A fake WeChat API server for the tests: a threaded HTTP server on a free port that answers
/cgi-bin/token, /cgi-bin/message/template/send and /sns/oauth2/access_token as WeChat
documents them, with scripted answers and a record of every request."""

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    body: dict | None


@dataclass
class FakeWeChat:
    """``script[path]``: answers to give, in order, before the default ones (a token
    counted up per fetch, a template send that succeeds, an OAuth code → ``openids``)."""

    url: str = ""
    requests: list = field(default_factory=list)
    script: dict = field(default_factory=dict)
    openids: dict = field(default_factory=dict)  # OAuth code → the visitor's OpenID
    next_openid: str = "oBROWSER0001"  # whom the fake authorization page says is visiting
    tokens_issued: int = 0
    delays: dict = field(default_factory=dict)  # path → seconds to wait before answering
    expires_in: int = 7200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, path: str) -> list:
        return [r for r in self.requests if r.path == path]

    def answer(self, path: str, query: dict) -> dict:
        with self.lock:
            scripted = self.script.get(path)
            if scripted:
                return scripted.pop(0)
            if path == "/cgi-bin/token":
                self.tokens_issued += 1
                return {"access_token": f"TOKEN{self.tokens_issued}", "expires_in": self.expires_in}
            if path == "/cgi-bin/message/template/send":
                return {"errcode": 0, "errmsg": "ok", "msgid": 200228332}
            if path == "/sns/oauth2/access_token":
                openid = self.openids.get(query.get("code", ""))
                if openid:
                    return {
                        "access_token": "OAUTH",
                        "expires_in": 7200,
                        "refresh_token": "R",
                        "openid": openid,
                        "scope": "snsapi_base",
                    }
                return {"errcode": 40029, "errmsg": "invalid code"}
            return {"errcode": 40066, "errmsg": "invalid url"}


def start_fake_wechat() -> tuple[FakeWeChat, ThreadingHTTPServer]:
    fake = FakeWeChat()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method: str):
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append(Recorded(method, parsed.path, query, body))
            time.sleep(fake.delays.get(parsed.path, 0))
            if parsed.path == "/connect/oauth2/authorize":  # the browser tests' "WeChat"
                self._authorize(query)
                return
            payload = json.dumps(fake.answer(parsed.path, query)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _authorize(self, query: dict):
            """As WeChat does for snsapi_base: straight back to redirect_uri with a code
            (for ``fake.next_openid``) and the state."""
            code = f"CODE{len(fake.openids) + 1}"
            fake.openids[code] = fake.next_openid
            back = (
                query["redirect_uri"]
                + "?"
                + urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
            )
            self.send_response(302)
            self.send_header("Location", back)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
