"""A loopback DNS responder that answers every question NXDOMAIN at once.

Hermod checks SPF, DKIM and DMARC on inbound mail; the benchmark's senders use domains that
do not exist (a@sender.invalid), and no lookup may leave this machine. Run as
`python3 -m hbench.dns PORTFILE`: binds 127.0.0.1:0 (UDP and TCP), writes the port to
PORTFILE, and serves until killed.
"""
import socket
import struct
import sys
import threading


def answer(query: bytes) -> bytes:
    if len(query) < 12:
        return b""
    qid, flags = struct.unpack("!HH", query[:4])
    # The question section runs from byte 12 to the end of QNAME + QTYPE + QCLASS.
    i = 12
    while i < len(query) and query[i] != 0:
        i += query[i] + 1
    question = query[12:i + 5]
    rd = flags & 0x0100
    resp_flags = 0x8000 | 0x0400 | rd | 0x0080 | 3  # QR, AA, RD copied, RA, NXDOMAIN
    return struct.pack("!HHHHHH", qid, resp_flags, 1, 0, 0, 0) + question


def serve_tcp(sock: socket.socket) -> None:
    while True:
        conn, _ = sock.accept()
        try:
            conn.settimeout(5)
            n = struct.unpack("!H", conn.recv(2))[0]
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    break
                data += chunk
            out = answer(data)
            conn.sendall(struct.pack("!H", len(out)) + out)
        except (OSError, struct.error):
            pass
        finally:
            conn.close()


def main() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(64)
    threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
    with open(sys.argv[1], "w") as f:
        f.write(str(port))
    while True:
        data, addr = udp.recvfrom(4096)
        out = answer(data)
        if out:
            udp.sendto(out, addr)


if __name__ == "__main__":
    main()
