"""A test harness for scripts/conformance, not part of scimd.

    python3 scripts/domain_proxy.py LISTEN_PORT UPSTREAM_URL DOMAIN

An HTTP proxy in front of scimd that puts what a client writes into the domain DOMAIN: every
userName and every group displayName the client sends (in bodies, PATCH operations and filters)
is written `DOMAIN/name`, and the prefix is taken off the names scimd answers with. A client
that knows nothing of domains (a conformance checker) then works on that domain's store and
reads back the names it wrote.
"""
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM, DOMAIN = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
PREFIX = DOMAIN + "/"
# `userName eq "x"` → `userName eq "DOMAIN/x"` (also ne and sw, whose values start the name).
FILTER_NAME = re.compile(r'(?i)\b(userName|displayName)(\s+(?:eq|ne|sw)\s+)"')


def qualified(v):
    return v if v.startswith(PREFIX) else PREFIX + v


def in_filter(f):
    return FILTER_NAME.sub(lambda m: m.group(1) + m.group(2) + '"' + PREFIX, f)


def outbound(obj, groups):
    """Qualifies the names in a request body; `groups` when the request is about groups."""
    if isinstance(obj, list):
        for x in obj:
            outbound(x, groups)
        return
    if not isinstance(obj, dict):
        return
    for k, v in list(obj.items()):
        key = k.lower()
        if isinstance(v, str) and (key == "username" or (key == "displayname" and groups)):
            obj[k] = qualified(v)
        elif key == "filter" and isinstance(v, str):
            obj[k] = in_filter(v)
        elif key == "operations" and isinstance(v, list):
            for op in v:
                if not isinstance(op, dict):
                    continue
                path, value = str(op.get("path", "")).lower(), op.get("value")
                if isinstance(value, str) and (path == "username" or (path == "displayname" and groups)):
                    op["value"] = qualified(value)
                else:
                    outbound(value, groups)
        elif key != "members" and isinstance(v, (dict, list)):
            outbound(v, groups)


def inbound(obj):
    """Takes the prefix off the names in a response body."""
    if isinstance(obj, list):
        for x in obj:
            inbound(x)
    elif isinstance(obj, dict):
        for k, v in list(obj.items()):
            if isinstance(v, str) and k.lower() in ("username", "displayname", "display") and v.startswith(PREFIX):
                obj[k] = v[len(PREFIX):]
            else:
                inbound(v)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path, _, query = self.path.partition("?")
        groups = "/groups" in path.lower()
        if query:
            params = urllib.parse.parse_qsl(query, keep_blank_values=True)
            query = urllib.parse.urlencode(
                [(k, in_filter(v) if k.lower() == "filter" else v) for k, v in params], quote_via=urllib.parse.quote
            )
            path += "?" + query
        if body:
            try:
                doc = json.loads(body)
                outbound(doc, groups or "/bulk" in path.lower())
                body = json.dumps(doc).encode()
            except ValueError:
                pass
        request = urllib.request.Request(UPSTREAM + path, data=body, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length", "connection"):
                request.add_header(k, v)
        try:
            with urllib.request.urlopen(request) as r:
                status, headers, out = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, out = e.code, e.headers, e.read()
        if out:
            try:
                doc = json.loads(out)
                inbound(doc)
                out = json.dumps(doc).encode()
            except ValueError:
                pass
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
