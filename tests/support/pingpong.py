"""A controllable child for supervisor tests (like k0s's pingpong), run with sys.executable.

Options (all optional; with none it sleeps until killed):
  --pid-log FILE       append "<pid>\\n" at start (counts spawns)
  --print-env          print the environment as JSON on one stdout line, then go on
  --print-stdin        print stdin (as received) on stdout
  --ready-file F --ready-after S   create F after S seconds (a file readiness probe)
  --health-port P --ready-after S  serve GET / on 127.0.0.1:P: 503 until ready, then 200
  --exit CODE --after S  exit with CODE after S seconds (0 s: at once)
  --after-file F       read S for --after from F at start (lets a test change it between restarts)
  --ignore-term        ignore SIGTERM
  --flood N            print N numbered lines as fast as possible (0 = forever), then sleep
  --big-line BYTES     print one line of BYTES bytes (multi-byte UTF-8 included), then sleep
  --grandchild         start a `sleep` grandchild in our process group (an orphan if we die)
  --hang               never get ready, never exit (a start that hangs)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def _serve_health(port: int, ready_at: float) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = 200 if time.monotonic() >= ready_at else 503
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code == 200 else b"not yet")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pid-log")
    p.add_argument("--print-env", action="store_true")
    p.add_argument("--print-stdin", action="store_true")
    p.add_argument("--ready-file")
    p.add_argument("--ready-after", type=float, default=0.0)
    p.add_argument("--health-port", type=int)
    p.add_argument("--exit", type=int)
    p.add_argument("--after", type=float, default=0.0)
    p.add_argument("--after-file")
    p.add_argument("--ignore-term", action="store_true")
    p.add_argument("--flood", type=int)
    p.add_argument("--big-line", type=int)
    p.add_argument("--grandchild", action="store_true")
    p.add_argument("--hang", action="store_true")
    a = p.parse_args()
    start = time.monotonic()
    if a.after_file and os.path.exists(a.after_file):
        with open(a.after_file) as f:
            a.after = float(f.read().strip() or 0)
    if a.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if a.pid_log:
        with open(a.pid_log, "a") as f:
            f.write(f"{os.getpid()}\n")
    if a.print_env:
        print(json.dumps(dict(os.environ)), flush=True)
    if a.print_stdin:
        print(sys.stdin.read(), flush=True)
    if a.grandchild:
        subprocess.Popen(["sleep", "1000"], start_new_session=False)
        print("grandchild started", flush=True)
    if a.health_port:
        _serve_health(a.health_port, start + a.ready_after)
    if a.flood is not None:
        out = sys.stdout.buffer
        n = 0
        while a.flood == 0 or n < a.flood:
            out.write(b"".join(b"line %d\n" % i for i in range(n, n + 1000 if a.flood == 0
                                                              else min(a.flood, n + 1000))))
            n = n + 1000 if a.flood == 0 else min(a.flood, n + 1000)
        out.flush()
    if a.big_line is not None:
        rest = a.big_line - 1
        body = b"x" + "é".encode() * (rest // 2) + b"y" * (rest % 2)  # valid UTF-8, exactly big_line bytes
        sys.stdout.buffer.write(body + b"\n")
        sys.stdout.buffer.flush()
    print("pingpong started", flush=True)
    while True:
        now = time.monotonic() - start
        if a.ready_file and not a.hang and now >= a.ready_after and not os.path.exists(a.ready_file):
            open(a.ready_file, "w").close()
        if a.exit is not None and now >= a.after:
            print(f"exiting with {a.exit}", file=sys.stderr, flush=True)
            sys.exit(a.exit)
        time.sleep(0.01 if (a.exit is not None or a.ready_file) else 1.0)


if __name__ == "__main__":
    main()
