#!/usr/bin/env python3
# A webhook receiver for the tests: a real HTTP server (http.server) on 127.0.0.1:PORT that
# answers POSTs with 500 for the first FAIL requests (or for every request while the file
# FAIL_FILE exists), else 200, and appends one JSON line per request to LOG:
# {"status": ..., "headers": {...}, "body": "..."}. With CERT and KEY it speaks HTTPS.
import json, os, ssl, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, log, fail_first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
fail_file = sys.argv[4] if len(sys.argv) > 4 else ''
cert, key = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
seen = [0]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0'))).decode()
        seen[0] += 1
        failing = seen[0] <= fail_first or (fail_file and os.path.exists(fail_file))
        status = 500 if failing else 200
        with open(log, 'a') as f:
            f.write(json.dumps({'status': status, 'path': self.path,
                                'headers': {k.lower(): v for k, v in self.headers.items()},
                                'body': body}) + '\n')
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(('127.0.0.1', port), Handler)
if cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print('receiver listening', flush=True)
server.serve_forever()
