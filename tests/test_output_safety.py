"""Nothing a user wrote is lost: ``--force`` replaces outputs only once the new run has checked its
input, and bad structures are refused before any file is written."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write

from helpers import DATA, run, small_model

pytestmark = pytest.mark.data  # reads ../shared/data


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A random-weight model file, an acac molecule, and structures the model must refuse."""
    folder = tmp_path_factory.mktemp("safety")
    small_model(channels=8, radial_groups=2, scale=0.3).save(folder / "model.pt")
    acac = read(DATA / "acac" / "train_300K.xyz", 0)
    write(folder / "acac.xyz", acac)
    write(folder / "unknown_element.xyz", Atoms("HN", positions=[[0, 0, 0], [1.0, 0, 0]]))
    nan = acac.copy()
    nan.positions[3, 1] = np.nan
    write(folder / "nan.extxyz", nan)
    write(folder / "zero_cell.extxyz", Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [0, 0.96, 0]], pbc=True))
    return folder


def _earlier_outputs(prefix, suffixes):
    """Files of an 'earlier good run' with distinct contents, returned as {path: bytes}."""
    saved = {}
    for suffix in suffixes:
        path = prefix.parent / (prefix.name + suffix)
        path.write_bytes(f"earlier output {suffix}\n".encode())
        saved[path] = path.read_bytes()
    return saved


MD_BAD = {
    "negative steps": ["--steps", -5],
    "zero timestep": ["--timestep", 0],
    "npt of a molecule": ["--ensemble", "npt"],
    "unknown model": ["--model", "no-such-model"],
    "index outside the file": ["--index", 99999],
}
RELAX_BAD = {
    "unknown model": ["--model", "no-such-model"],
    "cell relaxation of a molecule": ["--cell"],
    "zero fmax": ["--fmax", 0],
    "index outside the file": ["--index", 99999],
}
STRUCTURES = ["unknown_element.xyz", "nan.extxyz", "zero_cell.extxyz"]


@pytest.mark.parametrize("case", MD_BAD)
def test_md_with_force_and_a_bad_argument_keeps_earlier_outputs(files, tmp_path, case):
    prefix = tmp_path / "tty_md"
    saved = _earlier_outputs(prefix, [".extxyz", ".csv", ".png"])
    args = ["--model", files / "model.pt", "--steps", 3, *MD_BAD[case]]
    result = run("md", files / "acac.xyz", *args, "--output", prefix, "--force")
    assert result.exit_code == 1, result.output
    assert "Error: " in result.output and "Traceback" not in result.output
    assert {p: p.read_bytes() for p in saved} == saved


@pytest.mark.parametrize("case", RELAX_BAD)
def test_relax_with_force_and_a_bad_argument_keeps_earlier_outputs(files, tmp_path, case):
    prefix = tmp_path / "relax"
    saved = _earlier_outputs(prefix, [".extxyz", "_final.extxyz"])
    args = ["--model", files / "model.pt", *RELAX_BAD[case]]
    result = run("relax", files / "acac.xyz", *args, "--output", prefix, "--force")
    assert result.exit_code == 1, result.output
    assert "Error: " in result.output and "Traceback" not in result.output
    assert {p: p.read_bytes() for p in saved} == saved


@pytest.mark.parametrize("command", ["md", "relax"])
@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_structure_the_model_refuses_is_reported_before_anything_is_written(files, tmp_path, command, structure):
    prefix = tmp_path / "out"
    suffixes = [".extxyz", ".csv", ".png"] if command == "md" else [".extxyz", "_final.extxyz"]
    saved = _earlier_outputs(prefix, suffixes)
    result = run(command, files / structure, "--model", files / "model.pt", "--steps", 3, "--output", prefix, "--force")
    assert result.exit_code == 1
    reason = {"unknown_element.xyz": "N", "nan.extxyz": "NaN", "zero_cell.extxyz": "cell"}[structure]
    assert (
        reason in result.output and "simulation stopped" not in result.output and "last good frame" not in result.output
    )
    assert {p: p.read_bytes() for p in saved} == saved
    # and without earlier outputs nothing at all is left behind
    fresh = tmp_path / "fresh"
    assert (
        run(command, files / structure, "--model", files / "model.pt", "--steps", 3, "--output", fresh).exit_code == 1
    )
    assert not list(tmp_path.glob("fresh*"))


def test_force_replaces_earlier_outputs_once_the_run_writes(files, tmp_path):
    prefix = tmp_path / "md"
    _earlier_outputs(prefix, [".extxyz", ".csv", ".png"])
    result = run(
        "md",
        files / "acac.xyz",
        "--model",
        files / "model.pt",
        "--steps",
        4,
        "--traj-every",
        2,
        "--log-every",
        2,
        "--output",
        prefix,
        "--force",
    )
    assert result.exit_code == 0, result.output
    assert [int(f.info["step"]) for f in read(f"{prefix}.extxyz", ":")] == [0, 2, 4]
    assert (tmp_path / "md.png").read_bytes()[:4] == b"\x89PNG"


def test_outputs_go_into_a_new_folder(files, tmp_path):
    prefix = tmp_path / "runs" / "acac" / "md"
    result = run("md", files / "acac.xyz", "--model", files / "model.pt", "--steps", 2, "--output", prefix)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "acac" / "md.extxyz").is_file()


def test_frames_do_not_copy_the_input_labels(files, tmp_path):
    atoms = read(files / "acac.xyz")
    atoms.info.update(config_type="stale", dihedral_angle=12.5)
    atoms.arrays["REF_forces"] = np.ones((len(atoms), 3))
    write(tmp_path / "labelled.extxyz", atoms)
    result = run(
        "md",
        tmp_path / "labelled.extxyz",
        "--model",
        files / "model.pt",
        "--steps",
        2,
        "--traj-every",
        1,
        "--output",
        tmp_path / "md",
    )
    assert result.exit_code == 0, result.output
    for frame in read(tmp_path / "md.extxyz", ":"):
        assert not {"config_type", "dihedral_angle"} & set(frame.info)
        assert "REF_forces" not in frame.arrays
        assert {"step", "time_fs"} <= set(frame.info)


def test_index_outside_the_file_names_its_frame_count(files):
    result = run("md", DATA / "acac" / "test_MD_300K.xyz", "--model", files / "model.pt", "--index", 99999)
    assert result.exit_code == 1
    assert "--index 99999 is outside" in result.output and "650 frame(s)" in result.output


def test_the_command_line_starts_without_torch():
    """``gaunt-md --help`` must not wait seconds for torch: the commands import it when they run."""
    import subprocess
    import sys

    code = (
        "import sys, gaunt_md.cli; from click.testing import CliRunner; CliRunner().invoke(gaunt_md.cli.main, ['fit', '--help']); "
        "print('torch' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_eval_writes_a_plot_only_when_asked(files, tmp_path):
    frames = read(DATA / "acac" / "test_MD_300K.xyz", ":3")
    write(tmp_path / "t.xyz", frames)
    result = run("eval", files / "model.pt", tmp_path / "t.xyz", "--output", tmp_path / "pred.xyz")
    assert result.exit_code == 0, result.output
    assert not list(tmp_path.glob("*.png"))
    assert "default: none" in run("eval", "--help").output.split("--plot", 1)[1].split("--json", 1)[0]
    assert run("eval", files / "model.pt", tmp_path / "t.xyz", "--plot", tmp_path / "p.png").exit_code == 0
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_readme_install_and_test_lines_are_the_ones_ci_runs():
    """CI runs the README's plain install line and its test command; the README also gives the CPU-wheel line."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    blocks = re.findall(r"```bash\n(.*?)\n```", (root / "README.md").read_text(), re.S)
    ci = (root / ".ci" / "run").read_text().splitlines()
    install, cpu = blocks[0], blocks[1]
    assert install == 'pip install torch==2.13.0 && pip install -e ".[dev,torchsim,ipi]"' and install in ci
    assert "--index-url https://download.pytorch.org/whl/cpu" in cpu and "torch==2.13.0" in cpu
    assert blocks[2] in ci and "pytest" in blocks[2]


def test_parity_plot_shows_energies_relative_to_the_mean_with_their_errors(tmp_path, monkeypatch):
    """Energies near -626 eV/atom are drawn in meV/atom around their mean (readable ticks), on equal
    axes with y = x, and each panel prints its RMSE and MAE with units."""
    from gaunt_md import plots

    figures = []
    monkeypatch.setattr(plots, "save", lambda fig, png: figures.append(fig))
    ref_e = -626.1 + np.array([0.0, 0.01, 0.02])
    metrics = {"energy_rmse": 1.5, "energy_mae": 1.25, "forces_rmse": 42.0, "forces_mae": 30.5}
    plots.parity_plot(
        ref_e, ref_e + 0.001, np.array([1.0, -1.0]), np.array([1.1, -0.9]), metrics, tmp_path / "p.png", "t"
    )
    energy, forces = figures[0].axes
    x, y = energy.collections[0].get_offsets().T
    np.testing.assert_allclose(x, [-10.0, 0.0, 10.0], atol=1e-9)  # meV/atom about the mean reference
    np.testing.assert_allclose(y - x, 1.0, atol=1e-9)
    assert energy.get_xlim() == energy.get_ylim() and forces.get_xlim() == forces.get_ylim()
    texts = [t.get_text() for ax in (energy, forces) for t in ax.texts]
    assert "RMSE 1.5 meV/atom\nMAE 1.25 meV/atom" in texts and "RMSE 42 meV/Å\nMAE 30.5 meV/Å" in texts
