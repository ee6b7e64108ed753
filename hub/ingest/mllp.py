"""An MLLP listener for one institution's HL7 v2 feed: each framed message goes through the same intake
as ``POST /ingest/{institution}/hl7v2`` and is answered with its own framed ACK (AA, AE or AR).

MLLP carries no credentials: a listener serves one institution, on an address only that
institution's interface engine reaches (loopback by default; a VPN or a TLS tunnel in deployments).
"""

from __future__ import annotations

import logging
import socketserver

from .service import Intake

VT, FS, CR = b"\x0b", b"\x1c", b"\r"
MAX_FRAME = 16 * 1024 * 1024  # a frame larger than this is not a message: the connection is closed

log = logging.getLogger(__name__)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: MllpServer = self.server  # type: ignore[assignment]
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        buf = b""
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            buf += data
            while True:
                start = buf.find(VT)
                end = buf.find(FS + CR, start + 1) if start >= 0 else -1
                if end < 0:
                    break
                frame, buf = buf[start + 1 : end], buf[end + 2 :]
                self.request.sendall(
                    b"".join(VT + a.encode("utf-8") + FS + CR for a in server.acks(frame, peer))
                )
            if len(buf) > MAX_FRAME:
                log.warning("MLLP %s: frame over %d bytes, connection closed", peer, MAX_FRAME)
                return


class MllpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hub, institution: str, address: tuple[str, int]):
        self.intake = Intake(hub, institution)
        super().__init__(address, _Handler)

    def acks(self, frame: bytes, peer: str) -> list[str]:
        summary = self.intake.run("hl7v2", frame, f"mllp {peer}")
        return [r.ack for r in summary.results if r.ack]
