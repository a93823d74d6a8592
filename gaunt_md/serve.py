"""A force client for i-PI (``gaunt-md serve``): i-PI sends positions and cells over a socket, the
client answers with energy, forces and virial from a :class:`~gaunt_md.GauntCalculator`.

The client is ASE's ``SocketClient``, which speaks i-PI's protocol and converts units; gaunt-md adds
the connection (an inet ``HOST:PORT`` or a ``unix:NAME`` socket, retried while the server starts) and
tells a server that finished (it sends EXIT) from one that died (the socket closed without it).
"""

from __future__ import annotations

import time

from ase import Atoms
from ase.calculators.calculator import Calculator


class ServerLost(RuntimeError):
    """The i-PI server closed the connection without telling the client to exit."""


def parse_address(address: str) -> dict:
    """``HOST:PORT`` → {host, port}; ``unix:NAME`` → {unixsocket: NAME} (i-PI's /tmp/ipi_NAME)."""
    if address.startswith("unix:") and len(address) > 5:
        return {"unixsocket": address[5:]}
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address {address!r} is neither HOST:PORT nor unix:NAME")
    return {"host": host, "port": int(port)}


def connect(address: str, wait: float, timeout: float | None):
    """An ASE ``SocketClient`` connected to ``address``, retrying for up to ``wait`` seconds while the
    server is not listening yet; ``timeout`` (s) bounds every later wait for the server."""
    from ase.calculators.socketio import SocketClient

    where = parse_address(address)
    deadline = time.monotonic() + wait
    while True:
        try:
            return SocketClient(**where, timeout=timeout)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            if time.monotonic() >= deadline:
                raise ConnectionError(f"no i-PI server at {address} after {wait:g} s ({exc.strerror})") from None
            time.sleep(0.2)


def serve(atoms: Atoms, calc: Calculator, address: str, wait: float = 60.0, timeout: float | None = None) -> int:
    """Answer the server's force requests for ``atoms`` (its elements and atom order must match the
    server's) until it says EXIT; returns the number of force calls. ServerLost if the server went
    away without EXIT; the virial comes from the stress for structures periodic in all directions."""
    client = connect(address, wait, timeout)
    received: list[str] = []
    receive = client.protocol.recvmsg

    def recording() -> str:
        message = receive()
        received.append(message)
        return message

    client.protocol.recvmsg = recording
    atoms = atoms.copy()
    atoms.calc = calc
    calls = 0
    for _ in client.irun(atoms, use_stress=bool(atoms.pbc.all())):
        calls += 1
    if not received or received[-1] != "EXIT":
        raise ServerLost(f"the i-PI server at {address} closed the connection after {calls} force calls without EXIT")
    return calls
