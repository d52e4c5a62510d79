#!/usr/bin/env python3
# A stand-in for the Entra ID token endpoint (POST /{tenant}/oauth2/v2.0/token, the OAuth 2.0
# client-credentials grant) for the tests, over HTTPS with a test certificate. It checks the
# form as Microsoft documents it: grant_type=client_credentials, client_id, scope, and either
# client_secret or client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
# with a client_assertion JWT whose signature verifies with CERT_PEM's key (PS256 or RS256, by
# the openssl CLI), whose x5t#S256/x5t is that certificate's thumbprint, and whose aud, iss,
# sub, nbf and exp are right. A good request gets {"token_type":"Bearer","expires_in":LIFETIME,
# "access_token":...}; the token goes into TOKENS as "TOKEN EXPIRY_MS" (what the scripted
# upstream accepts). Anything else gets 400/401 {"error":...,"error_description":...}.
# Every request is appended to LOG as one JSON line {"ok": bool, "error": ..., "form": {...}}
# (secrets and assertions replaced by their length).
# Usage: token_endpoint.py PORT TLS_CERT TLS_KEY CLIENT_ID SECRET CERT_PEM LIFETIME TOKENS LOG SCOPE
# (SCOPE: the one scope it issues tokens for, e.g. https://communication.azure.com/.default)
import base64, hashlib, json, os, ssl, subprocess, sys, tempfile, time, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

(port, tls_cert, tls_key, client_id, secret, cert_pem, lifetime, tokens, log, scope) = sys.argv[1:11]
port, lifetime = int(port), int(lifetime)
issued = [0]


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def thumbprints():
    der = subprocess.run(['openssl', 'x509', '-in', cert_pem, '-outform', 'DER'],
                         capture_output=True, check=True).stdout
    enc = lambda d: base64.urlsafe_b64encode(d).decode().rstrip('=')
    return enc(hashlib.sha256(der).digest()), enc(hashlib.sha1(der).digest())


def check_assertion(jwt, audience):
    parts = jwt.split('.')
    if len(parts) != 3:
        return 'the assertion is not a compact JWT'
    header, claims = json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
    s256, s1 = thumbprints()
    alg = header.get('alg')
    if header.get('typ') != 'JWT':
        return 'typ is not JWT'
    if alg == 'PS256' and header.get('x5t#S256') != s256:
        return 'x5t#S256 is not the certificate thumbprint'
    if alg == 'RS256' and header.get('x5t') != s1:
        return 'x5t is not the certificate thumbprint'
    if alg not in ('PS256', 'RS256'):
        return 'alg ' + str(alg)
    now = time.time()
    if claims.get('aud') != audience or claims.get('iss') != client_id or \
            claims.get('sub') != client_id or not claims.get('jti'):
        return 'aud, iss, sub or jti wrong: ' + json.dumps(claims)
    if not (claims.get('nbf', now + 999) <= now + 5 and now < claims.get('exp', 0) <= now + 700):
        return 'nbf/exp out of range'
    with tempfile.TemporaryDirectory() as d:
        pub, sig, data = (os.path.join(d, n) for n in ('pub.pem', 'sig', 'data'))
        subprocess.run(['openssl', 'x509', '-in', cert_pem, '-pubkey', '-noout', '-out', pub],
                       check=True)
        open(sig, 'wb').write(b64url_decode(parts[2]))
        open(data, 'wb').write((parts[0] + '.' + parts[1]).encode())
        cmd = ['openssl', 'dgst', '-sha256', '-verify', pub, '-signature', sig]
        if alg == 'PS256':
            cmd += ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']
        if subprocess.run(cmd + [data], capture_output=True).returncode != 0:
            return 'the signature does not verify'
    return None


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, doc, record):
        body = json.dumps(doc).encode()
        with open(log, 'a') as f:
            f.write(json.dumps(record) + '\n')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get('Content-Length', '0'))).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        shown = {k: (len(v) if k in ('client_secret', 'client_assertion') else v)
                 for k, v in form.items()}
        audience = 'https://localhost:%d%s' % (port, self.path)
        error = None
        if not self.path.endswith('/oauth2/v2.0/token'):
            error = ('invalid_request', 'AADSTS900561: unknown endpoint ' + self.path)
        elif self.headers.get('Content-Type') != 'application/x-www-form-urlencoded':
            error = ('invalid_request', 'AADSTS900144: the body must be form-encoded')
        elif form.get('grant_type') != 'client_credentials':
            error = ('unsupported_grant_type', 'AADSTS70003: grant_type')
        elif form.get('client_id') != client_id:
            error = ('unauthorized_client', 'AADSTS700016: application not found')
        elif form.get('scope') != scope:
            error = ('invalid_scope', 'AADSTS70011: the scope is not valid')
        elif 'client_secret' in form:
            if form['client_secret'] != secret:
                error = ('invalid_client', 'AADSTS7000215: Invalid client secret provided.')
        elif form.get('client_assertion_type') == \
                'urn:ietf:params:oauth:client-assertion-type:jwt-bearer':
            why = check_assertion(form.get('client_assertion', ''), audience)
            if why:
                error = ('invalid_client', 'AADSTS700027: ' + why)
        else:
            error = ('invalid_request', 'AADSTS900144: client_secret or client_assertion')
        if error:
            self.answer(401 if error[0] == 'invalid_client' else 400,
                        {'error': error[0], 'error_description': error[1],
                         'error_codes': [0], 'trace_id': 't', 'correlation_id': 'c'},
                        {'ok': False, 'error': error[1], 'form': shown})
            return
        issued[0] += 1
        token = 'tok-%d-%s' % (issued[0], base64.urlsafe_b64encode(os.urandom(24)).decode())
        with open(tokens, 'a') as f:
            f.write('%s %d\n' % (token, int((time.time() + lifetime) * 1000)))
        self.answer(200, {'token_type': 'Bearer', 'expires_in': lifetime,
                          'ext_expires_in': lifetime, 'access_token': token},
                    {'ok': True, 'error': None, 'form': shown})

    def log_message(self, *args):
        pass


server = HTTPServer(('127.0.0.1', port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(tls_cert, tls_key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print('token endpoint listening', flush=True)
server.serve_forever()
