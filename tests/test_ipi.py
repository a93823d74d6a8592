"""gaunt-md serve under a real i-PI server: path-integral MD of acac with two clients on 127.0.0.1."""

import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
from ase import units
from ase.io import read

from gaunt_md import GauntCalculator
from helpers import DATA

pytestmark = pytest.mark.data  # reads ../shared/data
IPI = shutil.which("i-pi") or str(os.path.join(os.path.dirname(sys.executable), "i-pi"))
needs_ipi = pytest.mark.skipif(
    not os.path.exists(IPI), reason="i-PI is an optional dependency: pip install -e '.[ipi]'"
)

INPUT = """<simulation verbosity='low'>
  <output prefix='sim'>
    <properties stride='1' filename='out'> [ step, potential{electronvolt} ] </properties>
    <trajectory filename='pos' stride='5' format='xyz' cell_units='angstrom'> positions{angstrom} </trajectory>
  </output>
  <total_steps> 20 </total_steps>
  <prng><seed> 12345 </seed></prng>
  <ffsocket name='gaunt' mode='inet' pbc='false'>
    <address> 127.0.0.1 </address> <port> {port} </port> <latency> 0.001 </latency>
  </ffsocket>
  <system>
    <initialize nbeads='4'>
      <file mode='xyz' units='angstrom'> start.xyz </file>
      <velocities mode='thermal' units='kelvin'> 300 </velocities>
    </initialize>
    <forces> <force forcefield='gaunt'> </force> </forces>
    <ensemble> <temperature units='kelvin'> 300 </temperature> </ensemble>
    <motion mode='dynamics'>
      <dynamics mode='nvt'>
        <timestep units='femtosecond'> 0.5 </timestep>
        <thermostat mode='pile_l'> <tau units='femtosecond'> 100 </tau> </thermostat>
      </dynamics>
    </motion>
  </system>
</simulation>
"""


def ipi_units():
    from ipi.utils.units import UnitMap

    return UnitMap


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(structure, address, *extra):
    cmd = [sys.executable, "-m", "gaunt_md.cli", "serve", str(structure), "--model", "gaunt-acac", "--address", address]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


@needs_ipi
def test_pimd_with_two_clients_matches_the_calculator_and_everything_exits(tmp_path):
    atoms = read(DATA / "acac" / "test_MD_300K.xyz", 0)
    lines = [str(len(atoms)), "# CELL(abcABC): 30.0 30.0 30.0 90.0 90.0 90.0 positions{angstrom} cell{angstrom}"]
    lines += [f"{s} {x:.10f} {y:.10f} {z:.10f}" for s, (x, y, z) in zip(atoms.get_chemical_symbols(), atoms.positions)]
    (tmp_path / "start.xyz").write_text("\n".join(lines) + "\n")
    port = free_port()
    (tmp_path / "input.xml").write_text(INPUT.replace("{port}", str(port)))
    server = subprocess.Popen(
        [IPI, "input.xml"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    clients = [client(tmp_path / "start.xyz", f"127.0.0.1:{port}") for _ in range(2)]
    try:
        server_out = server.communicate(timeout=240)[0]
        outputs = [c.communicate(timeout=60)[0] for c in clients]
    finally:
        for p in (server, *clients):
            p.kill()
    assert server.returncode == 0, server_out[-2000:]
    for c, out in zip(clients, outputs):
        assert c.returncode == 0 and "the server finished" in out, out
    served = [int(out.split("the server finished: ")[1].split()[0]) for out in outputs]
    assert sum(served) >= 4 * 21 and min(served) > 0  # every bead of every step; both clients took a share

    table = np.loadtxt(tmp_path / "sim.out")  # step, potential (eV): the mean over the beads
    calc = GauntCalculator("gaunt-acac", device="cpu", dtype="float64")
    beads = [read(tmp_path / f"sim.pos_{k}.xyz", ":") for k in range(4)]
    assert len(beads[0]) == 5  # steps 0, 5, 10, 15, 20
    for frame, step in enumerate(range(0, 21, 5)):
        energies = []
        for k in range(4):
            bead = beads[k][frame]
            bead.pbc = False
            bead.calc = calc
            energies.append(bead.get_potential_energy())
        written = table[table[:, 0] == step, 1][0]
        # i-PI's "electronvolt" is 0.036749326 Ha, ASE's 1/27.211386 Ha: its eV are 1e-7 larger
        expected = np.mean(energies) / units.Hartree / ipi_units()["energy"]["electronvolt"]
        assert expected == pytest.approx(written, abs=5e-5)  # eV; i-PI writes 9 digits, positions to 6


@pytest.mark.parametrize("kind", ["inet", "unix"])
def test_a_server_that_dies_ends_the_client_with_one_line(tmp_path, kind):
    """A server that accepts, asks for the status and closes without EXIT; then no server at all."""
    if kind == "inet":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{listener.getsockname()[1]}"
    else:  # i-PI's unix sockets live at /tmp/ipi_NAME
        name = f"gaunt_test_{os.getpid()}"
        path = f"/tmp/ipi_{name}"
        if os.path.exists(path):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        address = f"unix:{name}"
    listener.listen(1)
    (tmp_path / "a.xyz").write_text("1\n\nH 0 0 0\n")
    proc = client(tmp_path / "a.xyz", address)
    conn, _ = listener.accept()
    conn.sendall(b"STATUS".ljust(12))
    conn.recv(12)  # the client's READY
    conn.close()
    listener.close()
    if kind == "unix":
        os.unlink(path)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1 and "closed the connection after 0 force calls without EXIT" in out, out
    assert "Traceback" not in out

    proc = client(tmp_path / "a.xyz", address, "--wait", "0.5")
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1 and f"no i-PI server at {address} after 0.5 s" in out, out
