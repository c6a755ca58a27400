#!/bin/sh
test_description='the HTTP client (lib/net/http.c, libcurl): kept-alive connections, https'
. "$(dirname "$0")/test-lib.sh"

if ! test_have_prereq PYTHON 2>/dev/null && ! command -v python3 >/dev/null 2>&1; then
	skip_all 'python3 is not installed'
fi

# peer MODE: starts t/helper/http-peer.py; PEER is its URL.
peer() {
	rm -f port port.conns
	python3 "$TEST_DIRECTORY/helper/http-peer.py" "$1" port >peer.log 2>&1 &
	echo $! >peer.pid
	i=0
	while ! test -s port; do
		i=$((i + 1)); test $i -lt 100 || return 1; sleep 0.05
	done
	PEER=http://127.0.0.1:$(cat port)
}

peer_stop() {
	kill "$(cat peer.pid)" 2>/dev/null
	wait "$(cat peer.pid)" 2>/dev/null
	return 0
}

test_expect_success 'requests in a row share one connection' '
	peer keep &&
	test_when_finished peer_stop &&
	bf-test-tool http "$PEER" 3 /a post:/b >out &&
	printf "200 /a \n200 /b /b\n" >one &&
	cat one one one >expect &&
	test_cmp expect out &&
	echo 1 >expect &&
	test_cmp expect port.conns
'

test_expect_success 'a connection the server closed while idle: the request goes again on a new one' '
	peer drop &&
	test_when_finished peer_stop &&
	bf-test-tool http "$PEER" 3 /a post:/b >out &&
	printf "200 /a \n200 /b /b\n" >one &&
	cat one one one >expect &&
	test_cmp expect out &&
	echo 6 >expect &&
	test_cmp expect port.conns
'

test_expect_success '"Connection: close" is obeyed' '
	peer close &&
	test_when_finished peer_stop &&
	bf-test-tool http "$PEER" 2 /a >out &&
	printf "200 /a \n200 /a \n" >expect &&
	test_cmp expect out &&
	echo 2 >expect &&
	test_cmp expect port.conns
'

test_expect_success 'a server that is gone is an error, after one new try' '
	peer keep &&
	bf-test-tool http "$PEER" 1 /a >out &&
	peer_stop &&
	test_must_fail bf-test-tool http "$PEER" 1 /a 2>err &&
	test_grep "cannot connect to 127.0.0.1" err
'

# tls_peer: an https server on 127.0.0.1 with a certificate from ca.pem.
tls_peer() {
	rm -f tport
	python3 -c '
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        b = ("tls " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain("srv.pem", "srv.key")
s.socket = c.wrap_socket(s.socket, server_side=True)
open("tport", "w").write(str(s.server_address[1]))
s.serve_forever()' >tls.log 2>&1 &
	echo $! >tls.pid
	i=0
	while ! test -s tport; do
		i=$((i + 1)); test $i -lt 100 || return 1; sleep 0.05
	done
	TPORT=$(cat tport)
}

test_expect_success 'https: verified against a CA file; another CA is a clear TLS error' '
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout ca.key -out ca.pem -days 2 -subj "/CN=t0090 CA" 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout srv.key -out srv.pem -days 2 -subj "/CN=127.0.0.1" \
		-CA ca.pem -CAkey ca.key -addext subjectAltName=IP:127.0.0.1 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout other.key -out other.pem -days 2 -subj "/CN=other" 2>/dev/null &&
	tls_peer &&
	test_when_finished "kill \$(cat tls.pid)" &&
	BF_TEST_CACERT=ca.pem bf-test-tool http https://127.0.0.1:$TPORT 2 /a >out &&
	printf "200 tls /a\n200 tls /a\n" >expect &&
	test_cmp expect out &&
	test_must_fail env BF_TEST_CACERT=other.pem \
		bf-test-tool http https://127.0.0.1:$TPORT 1 /a 2>err &&
	test_grep "TLS: cannot verify the certificate of 127.0.0.1:$TPORT against other.pem" err &&
	test_must_fail bf-test-tool http http://127.0.0.1:$TPORT 1 /a 2>err &&
	test_grep "if it speaks TLS, use an https:// URL" err &&
	test_must_fail bf-test-tool http ftp://127.0.0.1:$TPORT 1 /a 2>err &&
	test_grep "only http://HOST:PORT and https://HOST:PORT URLs" err
'

test_done
