/// The scripted HTTP server the integration tests talk to (Python 3, stdlib only).
///
/// Written to each test's temporary directory and started with
/// `python3 server.py --log requests.jsonl [--cert server.pem --key server.key]`.
/// It listens on 127.0.0.1 port 0, prints `port <n>` on stdout, and appends one
/// JSON line per request to the log *before* responding — so once the client
/// has a response, the log holds every request that led to it.
///
/// Routes:
/// - `/echo`: 200, the request body back, `X-Echo-Method`, a repeated `X-Test` field.
/// - `/status/<code>[?retry_after=<value>]`: that status, optionally with `Retry-After`.
/// - `/flaky?fail=<n>[&status=<code>][&key=<k>]`: `status` (503) with `Retry-After: 0`
///   for the first `n` requests per key, then 200.
/// - `/gzip`: a repetitive body, gzip-encoded when the client accepts it.
/// - `/count-connections`: 200, the server's id of the connection the request came on.
/// - `/hang`: prints `hang` on stdout and does not answer for 20 s.
let testServerScript = #"""
import argparse, base64, gzip, itertools, json, signal, ssl, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()
# The parent may have started us with signals blocked; let SIGTERM / SIGINT work.
signal.pthread_sigmask(signal.SIG_SETMASK, [])

lock = threading.Lock()
counters = {}
connection_ids = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # Headers and body go out in separate writes; with Nagle on, a kept-alive
    # connection would stall each response ~40 ms on the client's delayed ACK.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with lock:
            self.connection_id = next(connection_ids)

    def log_message(self, format, *arguments):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        record = {
            "method": self.command,
            "path": url.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": base64.b64encode(body).decode("ascii"),
            "clientPort": self.client_address[1],
            "connection": self.connection_id,
        }
        with lock:
            with open(args.log, "a") as log:
                log.write(json.dumps(record) + "\n")
        self.route(url.path, query, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    def respond(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self, path, query, body):
        if path == "/echo":
            self.respond(200, body, [("Content-Type", "application/octet-stream"),
                                     ("X-Echo-Method", self.command),
                                     ("X-Test", "one"), ("X-Test", "two")])
        elif path.startswith("/status/"):
            headers = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
            self.respond(int(path[len("/status/"):]), b"status", headers)
        elif path == "/flaky":
            key = query.get("key", "default")
            with lock:
                counters[key] = counters.get(key, 0) + 1
                count = counters[key]
            if count <= int(query.get("fail", "1")):
                self.respond(int(query.get("status", "503")), b"not yet", [("Retry-After", "0")])
            else:
                self.respond(200, b"ok after %d" % count)
        elif path == "/gzip":
            payload = b"kasvu " * 2000
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                self.respond(200, gzip.compress(payload), [("Content-Encoding", "gzip")])
            else:
                self.respond(200, payload)
        elif path == "/count-connections":
            self.respond(200, str(self.connection_id).encode())
        elif path == "/hang":
            print("hang", flush=True)
            threading.Event().wait(20)
            self.respond(200, b"too late")
        else:
            self.respond(404, b"no route")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if args.cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("port %d" % server.server_address[1], flush=True)
server.serve_forever()
"""#
