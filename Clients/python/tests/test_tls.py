"""TLSChannel on a socket pair, without the protocol."""

import socket
import ssl
import threading
import time

from adrnorm_client._tls import TLSChannel


class _SlowReads:
    """A socket whose reads start late, so the peer's records pile up."""

    def __init__(self, sock, delay):
        self._sock, self._delay = sock, delay

    def recv(self, n):
        time.sleep(self._delay)
        return self._sock.recv(n)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _contexts(certs):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs / "server.pem", certs / "server.key")
    server.load_verify_locations(certs / "ca.pem")
    server.verify_mode = ssl.CERT_REQUIRED
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(certs / "ca.pem")
    client.load_cert_chain(certs / "client-a.pem", certs / "client-a.key")
    return server, client


def test_data_that_arrives_with_the_last_handshake_record_is_not_stranded(certs):
    # The client's Finished and its first data reach the server in one read:
    # the data sits decrypted-able in the BIO and the socket never signals it
    # again; recv() must return it without waiting for more bytes.
    server_ctx, client_ctx = _contexts(certs)
    a, b = socket.socketpair()
    server = TLSChannel(_SlowReads(a, 0.2), server_ctx, server_side=True)
    client = TLSChannel(b, client_ctx, server_side=False, server_hostname="localhost")
    got = []

    def serve():
        server.handshake(time.monotonic() + 10)
        got.append(server.recv())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    client.handshake(time.monotonic() + 10)
    client.send(b"first frame")
    t.join(5)
    assert not t.is_alive(), "the server's recv() blocked on data it already had"
    assert got == [b"first frame"]
    client.close()
    server.close()


def test_many_writers_one_reader_keep_records_in_order(certs):
    server_ctx, client_ctx = _contexts(certs)
    a, b = socket.socketpair()
    server = TLSChannel(a, server_ctx, server_side=True)
    client = TLSChannel(b, client_ctx, server_side=False, server_hostname="localhost")
    t = threading.Thread(target=server.handshake, args=(time.monotonic() + 10,), daemon=True)
    t.start()
    client.handshake(time.monotonic() + 10)
    t.join(5)
    per_writer, writers = 300, 8
    chunk = {w: bytes([65 + w]) * 1000 for w in range(writers)}

    def write(w):
        for _ in range(per_writer):
            client.send(chunk[w])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for th in threads:
        th.start()
    received = bytearray()
    while len(received) < per_writer * writers * 1000:
        received += server.recv()
    for th in threads:
        th.join(5)
    # Every 1000-byte send arrives whole (no interleaving inside a send).
    for i in range(0, len(received), 1000):
        block = bytes(received[i:i + 1000])
        assert block == block[:1] * 1000
    client.close()
    server.close()
