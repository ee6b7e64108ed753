"""HL7 v2 over a real MLLP connection: a framed ACK for every framed message, in order."""

from __future__ import annotations

import socket
import threading

from hub.ingest.mllp import MllpServer
from tests.adapters.conftest import count
from tests.adapters.test_hl7v2 import ORU, rid


def _read_acks(sock: socket.socket, n: int) -> list[bytes]:
    buf = b""
    while buf.count(b"\x1c\r") < n:
        data = sock.recv(65536)
        assert data, "the listener closed the connection"
        buf += data
    return [f.lstrip(b"\x0b") for f in buf.split(b"\x1c\r")[:n]]


def test_mllp_listener_acknowledges_each_message(hub):
    server = MllpServer(hub, "tonghai-county", ("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        good = ORU.format(rid=rid()).encode()
        bad = good.replace(b"TH-LIS-0001", b"TH-LIS-0002").replace(b"||7.8|", b"||?|")
        before = count(hub, "Observation")
        with socket.create_connection(server.server_address, timeout=60) as sock:
            # two frames, the second split across writes, as TCP may deliver them
            frames = b"\x0b" + good + b"\x1c\r" + b"\x0b" + bad + b"\x1c\r"
            sock.sendall(frames[: len(good) + 10])
            sock.sendall(frames[len(good) + 10 :])
            acks = _read_acks(sock, 2)
            assert acks[0].split(b"\r")[1] == b"MSA|AA|TH-LIS-0001"
            assert acks[1].split(b"\r")[1].startswith(b"MSA|AE|TH-LIS-0002|")
            sock.sendall(b"\x0b" + good + b"\x1c\r")  # resent: acknowledged, stored once
            assert _read_acks(sock, 1)[0].split(b"\r")[1] == b"MSA|AA|TH-LIS-0001"
        assert count(hub, "Observation") == before + 4
    finally:
        server.shutdown()
        server.server_close()
