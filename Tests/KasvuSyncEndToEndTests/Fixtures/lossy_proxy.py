"""A loopback HTTP proxy that loses or holds responses, for sync fault tests.

Usage: python3 lossy_proxy.py UPSTREAM_PORT MODE N [RELEASE_FILE]
  drop N         the first N requests reach the upstream (which commits them), but the proxy
                 closes the client's connection without answering: responses lost after commit
  hold-after N   request N reaches the upstream; its response is never delivered
  hold-before N  request N waits until RELEASE_FILE exists (at most 60 s), then is forwarded
Prints its own port on the first line of stdout, then "held" when it holds a request.
"""
import http.client
import os
import signal
import socketserver
import sys
import threading
import time

# Foundation's Process starts children with signals blocked; make SIGTERM work again, and
# never outlive a test by more than a few minutes even if nobody stops us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.alarm(300)

upstream_port, mode, limit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
release_file = sys.argv[4] if len(sys.argv) > 4 else None
count = [0]
lock = threading.Lock()


def forward(method, path, headers, body):
    connection = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
    connection.request(method, path, body=body, headers={k: v for k, v in headers.items() if k.lower() != "host"})
    response = connection.getresponse()
    return response, response.read()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            request_line = self.rfile.readline()
            if not request_line:
                return
            method, path, _ = request_line.decode().split(" ", 2)
            headers = {}
            while True:
                line = self.rfile.readline().decode()
                if line in ("\r\n", "\n", ""):
                    break
                name, value = line.split(":", 1)
                headers[name.strip()] = value.strip()
            body = self.rfile.read(int(headers.get("Content-Length", "0")))
            with lock:
                count[0] += 1
                number = count[0]
            if mode == "hold-before" and number == limit:
                print("held", flush=True)
                deadline = time.time() + 60
                while not os.path.exists(release_file) and time.time() < deadline:
                    time.sleep(0.01)
            try:
                response, payload = forward(method, path, headers, body)
            except OSError:
                return  # upstream gone: close the client's connection
            if (mode == "drop" and number <= limit) or (mode == "hold-after" and number == limit):
                if mode == "hold-after":
                    print("held", flush=True)
                    time.sleep(60)
                return  # close without answering
            self.wfile.write(f"HTTP/1.1 {response.status} {response.reason}\r\n".encode())
            for name, value in response.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.wfile.write(f"{name}: {value}\r\n".encode())
            self.wfile.write(f"Content-Length: {len(payload)}\r\n\r\n".encode())
            self.wfile.write(payload)
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


with Server(("127.0.0.1", 0), Handler) as server:
    print(server.server_address[1], flush=True)
    server.serve_forever()
