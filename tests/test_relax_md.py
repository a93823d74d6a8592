"""gaunt-md relax and gaunt-md md: convergence, cell relaxation, energy conservation, thermostat,
resume, blow-up guard and output safety."""

import csv

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import read, write

from gaunt_md import GauntCalculator
from gaunt_md.md import BlowUp, MDSettings, initial_velocities, run_md
from gaunt_md.relax import relax
from helpers import DATA, run, small_model

pytestmark = pytest.mark.data  # reads ../shared/data


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A random-weight float64 model file and a rattled acac molecule."""
    import torch

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("sim")
    # no pair prior: with it, this random model relaxes acac until a C-H pair rests on the prior's edge.
    # scale 0.005: forces of ~3 meV/Å on the rattled molecule, smooth enough for NVE at 0.25 fs
    small_model(channels=8, radial_groups=2, scale=0.005, pair_repulsion=None).save(folder / "model.pt")
    atoms = read(DATA / "acac" / "train_300K.xyz", 0)
    atoms.rattle(0.05, seed=1)
    write(folder / "acac.xyz", atoms)
    return folder


def rows(path):
    return list(csv.DictReader(path.open()))


def test_relax_converges_a_distorted_molecule(files, tmp_path):
    out = tmp_path / "r"
    result = run(
        "relax",
        files / "acac.xyz",
        "--model",
        "gaunt-acac",  # the shipped model: a random one has no minimum near a molecule
        "--fmax",
        0.01,
        "--optimizer",
        "BFGS",
        "--output",
        out,
    )
    assert result.exit_code == 0, result.output
    final = read(f"{out}_final.extxyz")
    assert np.linalg.norm(final.get_forces(), axis=1).max() < 0.01
    trajectory = read(f"{out}.extxyz", ":")
    assert trajectory[-1].get_potential_energy() < trajectory[0].get_potential_energy()
    # the final forces are the model's, not stale labels: recompute them
    check = final.copy()
    check.calc = GauntCalculator("gaunt-acac", dtype="float64")
    # to 1e-6 eV/Å (forces ~1e-2): extxyz rounds positions to 5e-9 Å, which bond curvatures of ~50 eV/Å²
    # turn into force changes of a few 1e-7
    np.testing.assert_allclose(check.get_forces(), final.get_forces(), atol=1e-6)
    assert "converged after" in result.output


def test_relax_reports_failure_to_converge(files, tmp_path):
    result = run(
        "relax",
        files / "acac.xyz",
        "--model",
        files / "model.pt",
        "--fmax",
        1e-6,
        "--steps",
        3,
        "--output",
        tmp_path / "r",
    )
    assert result.exit_code == 1
    assert "not converged" in result.output and (tmp_path / "r_final.extxyz").is_file()


@pytest.mark.parametrize("mode", ["full", "hydrostatic"])
def test_cell_relaxation_removes_the_stress(mode):
    atoms = bulk("Cu", "fcc", a=3.8, cubic=True)  # 5% strained against EMT's 3.59 Å
    atoms.set_cell(atoms.cell.array @ np.diag([1.0, 1.02, 0.98]), scale_atoms=True)
    atoms.calc = EMT()
    result = relax(atoms, "FIRE", fmax=0.005, steps=500, cell=True, cell_mode=mode, logfile=None)
    assert result.converged
    stress = atoms.get_stress()
    assert result.final_volume < 0.9 * result.initial_volume
    if mode == "full":  # every stress component vanishes (FrechetCellFilter's cell forces are stress·V/N)
        assert np.abs(stress).max() * atoms.get_volume() / len(atoms) < 0.005
    else:  # the shape is kept (cell ratios as before), only the pressure vanishes
        lengths = atoms.cell.lengths()
        np.testing.assert_allclose(lengths / lengths[0], [1.0, 1.02, 0.98], rtol=1e-6)
        assert abs(stress[:3].mean()) * atoms.get_volume() / len(atoms) < 0.005
        assert np.abs(stress).max() > 1e-3  # a strained shape keeps shear/normal stress differences


def test_cell_relaxation_under_pressure_balances_it():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.calc = EMT()
    relax(atoms, "FIRE", fmax=0.002, steps=500, cell=True, cell_mode="hydrostatic", pressure=5.0, logfile=None)
    pressure = -atoms.get_stress()[:3].mean() / 0.006241509  # eV/Å^3 → GPa
    assert pressure == pytest.approx(5.0, abs=0.1)


def test_nve_conserves_energy(files, tmp_path):
    run(
        "md",
        files / "acac.xyz",
        "--model",
        files / "model.pt",
        "--ensemble",
        "nve",
        "--timestep",
        0.25,
        "--steps",
        400,
        "--log-every",
        5,
        "--temperature",
        300,
        "--output",
        tmp_path / "nve",
    )
    table = rows(tmp_path / "nve.csv")
    total = np.array([float(r["etot_eV"]) for r in table])
    kinetic = np.array([float(r["ekin_eV"]) for r in table])
    assert len(table) == 81 and kinetic.std() > 0.005  # the atoms really move and exchange energy
    assert abs(total[-1] - total[0]) < 1e-4 and total.std() < 5e-5  # eV, 15 atoms, 0.1 ps
    assert (tmp_path / "nve.png").stat().st_size > 10_000  # the energy/temperature plot


def test_nvt_langevin_reaches_the_temperature(files, tmp_path):
    atoms = read(files / "acac.xyz")
    atoms.calc = GauntCalculator(files / "model.pt", dtype="float64")
    initial_velocities(atoms, 50.0, seed=0)  # start far below the target
    settings = MDSettings(
        ensemble="nvt", temperature=300.0, timestep=0.5, steps=1500, friction=0.05, log_every=5, traj_every=500
    )
    run_md(atoms, settings, tmp_path / "t.extxyz", tmp_path / "t.csv", echo=lambda *a: None)
    temperatures = np.array([float(r["temperature_K"]) for r in rows(tmp_path / "t.csv")])
    assert temperatures[:3].mean() < 150
    assert temperatures[len(temperatures) // 2 :].mean() == pytest.approx(300.0, rel=0.12)


def test_nose_hoover_and_npt_run(tmp_path):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.calc = EMT()
    initial_velocities(atoms, 300.0, seed=0)
    nvt = MDSettings(ensemble="nvt", thermostat="nose-hoover", temperature=300.0, timestep=2.0, steps=50, log_every=10)
    run_md(atoms, nvt, tmp_path / "a.extxyz", tmp_path / "a.csv", echo=lambda *a: None)
    volume = atoms.get_volume()
    npt = MDSettings(
        ensemble="npt", temperature=300.0, timestep=2.0, steps=100, pressure=10.0, pdamp=100.0, log_every=10
    )
    run_md(atoms, npt, tmp_path / "b.extxyz", tmp_path / "b.csv", echo=lambda *a: None)
    table = rows(tmp_path / "b.csv")
    assert float(table[-1]["volume_A3"]) < volume  # 10 GPa compresses copper
    assert all(r["pressure_GPa"] != "" for r in table)


def test_npt_needs_a_periodic_cell(files, tmp_path):
    result = run(
        "md",
        files / "acac.xyz",
        "--model",
        files / "model.pt",
        "--ensemble",
        "npt",
        "--steps",
        5,
        "--output",
        tmp_path / "x",
    )
    assert result.exit_code == 1 and "periodic" in result.output


def test_resume_continues_the_step_count(files, tmp_path):
    out = tmp_path / "md"
    args = [
        "md",
        files / "acac.xyz",
        "--model",
        files / "model.pt",
        "--timestep",
        0.5,
        "--traj-every",
        5,
        "--log-every",
        5,
        "--output",
        out,
    ]
    assert run(*args, "--steps", 20).exit_code == 0
    resumed = run(*args, "--steps", 40, "--resume")
    assert resumed.exit_code == 0, resumed.output
    frames = read(f"{out}.extxyz", ":")
    assert [int(f.info["step"]) for f in frames] == list(range(0, 45, 5))
    assert [int(r["step"]) for r in rows(tmp_path / "md.csv")] == list(range(0, 45, 5))
    times = [float(r["time_ps"]) for r in rows(tmp_path / "md.csv")]
    assert times[-1] == pytest.approx(0.02)
    again = run(*args, "--steps", 40, "--resume")
    assert again.exit_code == 1 and "already reached step 40" in again.output


class _BlowsUp(EMT):
    """EMT until the n-th call, then NaN forces: an injected blow-up."""

    def __init__(self, after):
        super().__init__()
        self.calls, self.after = 0, after

    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        self.calls += 1
        if self.calls > self.after:
            self.results["forces"] = self.results["forces"] * np.nan


def test_nan_guard_stops_and_keeps_the_last_good_frame(tmp_path):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.calc = _BlowsUp(after=13)
    initial_velocities(atoms, 300.0, seed=0)
    settings = MDSettings(ensemble="nve", timestep=1.0, steps=50, traj_every=5, log_every=5)
    with pytest.raises(BlowUp, match="NaN") as stopped:
        run_md(atoms, settings, tmp_path / "b.extxyz", tmp_path / "b.csv", echo=lambda *a: None)
    assert stopped.value.last_written_step == 12
    frames = read(tmp_path / "b.extxyz", ":")
    assert [int(f.info["step"]) for f in frames] == [0, 5, 10, 12]
    assert all(np.isfinite(f.get_forces()).all() for f in frames)


def test_displacement_guard(tmp_path):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.calc = EMT()
    atoms.set_momenta(np.full((len(atoms), 3), 400.0))  # absurdly hot: ~3 Å per fs
    settings = MDSettings(ensemble="nve", timestep=1.0, steps=10, max_displacement=0.5)
    with pytest.raises(BlowUp, match="moved"):
        run_md(atoms, settings, tmp_path / "b.extxyz", tmp_path / "b.csv", echo=lambda *a: None)


def test_outputs_are_never_overwritten_without_force(files, tmp_path):
    out = tmp_path / "r"
    (tmp_path / "r.extxyz").write_text("precious")
    args = ["relax", files / "acac.xyz", "--model", files / "model.pt", "--output", out]
    refused = run(*args)
    assert refused.exit_code == 1 and "exists" in refused.output
    assert (tmp_path / "r.extxyz").read_text() == "precious"
    assert run(*args, "--force").exit_code == 0
    # the input is never an output, even with --force
    write(tmp_path / "in.extxyz", read(files / "acac.xyz"))
    before = (tmp_path / "in.extxyz").read_text()
    clash = run("relax", tmp_path / "in.extxyz", "--model", files / "model.pt", "--output", tmp_path / "in", "--force")
    assert clash.exit_code == 1 and "input file" in clash.output
    assert (tmp_path / "in.extxyz").read_text() == before
    md_clash = run("md", files / "acac.xyz", "--model", files / "model.pt", "--output", tmp_path / "r", "--steps", 2)
    assert md_clash.exit_code == 1 and "exists" in md_clash.output


def test_reads_other_formats_and_frames(files, tmp_path):
    atoms = read(files / "acac.xyz")
    atoms.center(vacuum=5.0)
    write(tmp_path / "POSCAR", atoms, format="vasp")
    write(tmp_path / "many.xyz", [atoms, atoms[:3]])
    from gaunt_md.data import read_structure

    assert len(read_structure(tmp_path / "POSCAR")) == 15
    assert len(read_structure(tmp_path / "many.xyz", 0)) == 15
    assert len(read_structure(tmp_path / "many.xyz")) == 3
    (tmp_path / "junk.cif").write_text("this is not a cif file\n")
    with pytest.raises(ValueError, match="cannot read"):
        read_structure(tmp_path / "junk.cif")
    bad = run("relax", tmp_path / "junk.cif", "--model", files / "model.pt", "--output", tmp_path / "j")
    assert bad.exit_code == 1 and "cannot read" in bad.output


def test_pymatgen_reads_what_ase_cannot(tmp_path, monkeypatch):
    import ase.io
    from pymatgen.core import Lattice, Structure

    from gaunt_md.data import read_structure

    Structure(Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).to(filename=str(tmp_path / "nacl.cif"))

    def refuse(*args, **kwargs):
        raise ValueError("ASE cannot parse this")

    monkeypatch.setattr(ase.io, "read", refuse)
    atoms = read_structure(tmp_path / "nacl.cif")
    assert atoms.get_chemical_symbols() == ["Na", "Cl"] and atoms.pbc.all()
    np.testing.assert_allclose(atoms.cell.lengths(), 5.64)


def test_symmetry_is_kept_during_cell_relaxation():
    from ase.constraints import FixSymmetry
    from ase.spacegroup.symmetrize import check_symmetry

    atoms = bulk("Cu", "fcc", a=3.8, cubic=True)
    atoms.rattle(0.003, seed=3)  # within FixSymmetry's 0.01 Å tolerance of Fm-3m
    atoms.calc = EMT()
    relax(atoms, "BFGS", fmax=0.01, steps=300, cell=True, symmetry=True, logfile=None)
    assert isinstance(atoms.constraints[0], FixSymmetry)
    assert check_symmetry(atoms, 0.01).number == 225
    lengths = atoms.cell.lengths()  # the cubic cell stays cubic while it shrinks to EMT's lattice constant
    np.testing.assert_allclose(lengths, lengths[0], rtol=1e-4)
    assert lengths[0] < 3.7
