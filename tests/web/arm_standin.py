#!/usr/bin/env python3
# A stand-in for Azure Resource Manager's ACS suppression-list resources, for the tests, over
# HTTPS with a test certificate. It implements the documented request and response shapes of
# Microsoft.Communication/emailServices/domains/suppressionLists and .../suppressionListAddresses
# (api-version 2023-06-01-preview .. 2026-03-18): PUT/GET/DELETE of a list and of an address,
# the paged collection ({"value": [...], "nextLink": ...}), 200/201 on PUT, 200/204 on DELETE,
# ARM's {"error": {"code", "message"}} errors, resource names ^[a-zA-Z0-9-]{1,253}$, bearer
# tokens checked against TOKENS (issued by token_endpoint.py, unexpired), api-version required,
# and ARM throttling: the first THROTTLE requests get 429 with Retry-After: 1.
# The lists are kept in STATE (JSON {"domain/list": {"listName": ..., "addresses": {id: email}}})
# after every change; SEED (optional, same shape) is loaded at start. Each request is appended to
# LOG as {"method", "path", "status"}.
# With $ARM_NEXTLINK_HOST set, nextLink points at that host instead (a hostile answer).
# Usage: arm_standin.py PORT TLS_CERT TLS_KEY TOKENS STATE LOG PAGE THROTTLE [SEED]
import json, os, re, ssl, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

port, tls_cert, tls_key, tokens, state_file, log, page, throttle = sys.argv[1:9]
port, page, throttle = int(port), int(page), int(throttle)
state = json.load(open(sys.argv[9])) if len(sys.argv) > 9 else {}
VERSIONS = {'2023-06-01-preview', '2024-09-01-preview', '2025-05-01-preview', '2025-09-01',
            '2026-03-18'}
NAME = r'[a-zA-Z0-9-]{1,253}'
PATH = re.compile(r'^/subscriptions/([0-9a-fA-F-]{36})/resourceGroups/([^/]+)/providers/'
                  r'Microsoft\.Communication/emailServices/([^/]+)/domains/([^/]+)/'
                  r'suppressionLists/([^/]+)(/suppressionListAddresses(?:/([^/]+))?)?$')
seen = [0]


def save():
    json.dump(state, open(state_file, 'w'), indent=1, sort_keys=True)


def token_ok(header):
    if not header.startswith('Bearer '):
        return False
    want = header[7:]
    now = time.time() * 1000
    for line in open(tokens):
        t, _, exp = line.strip().partition(' ')
        if t == want:
            return now < int(exp)
    return False


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, doc=None, headers=()):
        body = json.dumps(doc).encode() if doc is not None else b''
        with open(log, 'a') as f:
            f.write(json.dumps({'method': self.command, 'path': self.path, 'status': status}) + '\n')
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        self.reply(status, {'error': {'code': code, 'message': message}})

    def handle_any(self):
        length = int(self.headers.get('Content-Length', '0'))
        raw = self.rfile.read(length) if length else b''
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if not token_ok(self.headers.get('Authorization', '')):
            return self.error(401, 'InvalidAuthenticationToken', 'The access token is invalid.')
        seen[0] += 1
        if seen[0] <= throttle:
            return self.reply(429, {'error': {'code': 'TooManyRequests', 'message': 'throttled'}},
                              [('Retry-After', '1')])
        if query.get('api-version', [''])[0] not in VERSIONS:
            return self.error(400, 'MissingApiVersionParameter', 'api-version')
        m = PATH.match(url.path)
        if not m:
            return self.error(404, 'InvalidResourceType', 'no such resource type')
        domain, lst, sub, addr_id = m.group(4), m.group(5), m.group(6), m.group(7)
        if not re.fullmatch(NAME, lst) or (addr_id is not None and not re.fullmatch(NAME, addr_id)):
            return self.error(400, 'InvalidResourceName', 'names match ^[a-zA-Z0-9-]+$')
        key = domain + '/' + lst
        base = url.path.split('/suppressionListAddresses')[0]
        if not sub:
            if self.command == 'PUT':
                props = json.loads(raw or b'{}').get('properties', {})
                created = key not in state
                state.setdefault(key, {'addresses': {}})['listName'] = props.get('listName', '')
                save()
                return self.reply(201 if created else 200, {
                    'id': base, 'name': lst,
                    'type': 'Microsoft.Communication/EmailServices/Domains/SuppressionLists',
                    'properties': {'listName': state[key]['listName'], 'dataLocation': 'unitedstates'}})
            if key not in state:
                return self.error(404, 'ResourceNotFound', 'The requested resource was not found')
            if self.command == 'GET':
                return self.reply(200, {'id': base, 'name': lst,
                                        'properties': {'listName': state[key]['listName']}})
            if self.command == 'DELETE':
                del state[key]
                save()
                return self.reply(200)
            return self.error(405, 'MethodNotAllowed', self.command)
        if key not in state:
            return self.error(404, 'ResourceNotFound', 'The requested resource was not found')
        addrs = state[key]['addresses']
        if addr_id is None:
            if self.command != 'GET':
                return self.error(405, 'MethodNotAllowed', self.command)
            skip = int(query.get('$skipToken', ['0'])[0])
            ids = sorted(addrs)
            value = [{'id': base + '/suppressionListAddresses/' + i, 'name': i,
                      'type': 'Microsoft.Communication/EmailServices/Domains/SuppressionLists/SuppressionListAddresses',
                      'properties': {'email': addrs[i], 'lastModified': '2026-12-01T00:00:00Z'}}
                     for i in ids[skip:skip + page]]
            doc = {'value': value}
            if skip + page < len(ids):
                host = os.environ.get('ARM_NEXTLINK_HOST', 'localhost:%d' % port)
                doc['nextLink'] = 'https://%s%s?api-version=%s&$skipToken=%d' % (
                    host, url.path, query['api-version'][0], skip + page)
            return self.reply(200, doc)
        if self.command == 'PUT':
            props = json.loads(raw or b'{}').get('properties', {})
            if not props.get('email'):
                return self.error(400, 'InvalidRequestContent', 'properties.email is required')
            created = addr_id not in addrs
            addrs[addr_id] = props['email']
            save()
            return self.reply(201 if created else 200, {
                'id': url.path, 'name': addr_id, 'properties': dict(props, dataLocation='unitedstates')})
        if self.command == 'GET':
            if addr_id not in addrs:
                return self.error(404, 'ResourceNotFound', 'The requested resource was not found')
            return self.reply(200, {'id': url.path, 'name': addr_id,
                                    'properties': {'email': addrs[addr_id]}})
        if self.command == 'DELETE':
            existed = addrs.pop(addr_id, None) is not None
            save()
            return self.reply(200 if existed else 204)
        return self.error(405, 'MethodNotAllowed', self.command)

    do_GET = do_PUT = do_DELETE = do_POST = handle_any

    def log_message(self, *args):
        pass


save()
server = HTTPServer(('127.0.0.1', port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(tls_cert, tls_key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print('arm stand-in listening', flush=True)
server.serve_forever()
