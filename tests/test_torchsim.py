"""gaunt-md in TorchSim: a batch of structures equals the ASE calculator, and TorchSim's runners work."""

import numpy as np
import pytest
import torch
from ase.io import read

from gaunt_md import GauntCalculator
from helpers import DATA, small_model

ts = pytest.importorskip("torch_sim", reason="TorchSim is an optional dependency: pip install -e '.[torchsim]'")
from gaunt_md.torchsim import GauntModel  # noqa: E402

pytestmark = pytest.mark.data  # reads ../shared/data


def mixed_batch():
    """Three acac frames in a 20 Å periodic box (no image within the cutoff) and a 192-atom water box."""
    molecules = read(DATA / "acac" / "test_MD_300K.xyz", ":3")
    for atoms in molecules:
        atoms.set_cell([20.0, 21.0, 22.0])
        atoms.center()
        atoms.pbc = True
    return [*molecules, read(DATA / "water" / "test.xyz", 0)]


def test_a_mixed_batch_equals_the_calculator_structure_by_structure():
    model = small_model()
    structures = mixed_batch()
    sim = GauntModel(model, device="cpu", dtype="float64")
    out = sim(ts.io.atoms_to_state(structures, sim.device, sim.dtype))
    assert out["energy"].shape == (4,) and out["forces"].shape == (sum(map(len, structures)), 3)
    assert out["stress"].shape == (4, 3, 3)
    calc = GauntCalculator(model, device="cpu", dtype="float64")
    start = 0
    for b, atoms in enumerate(structures):
        atoms = atoms.copy()
        atoms.calc = calc
        energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress(voigt=False)
        n = len(atoms)
        assert float(out["energy"][b]) == pytest.approx(energy, rel=1e-8, abs=1e-10)
        np.testing.assert_allclose(out["forces"][start : start + n].numpy(), forces, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(out["stress"][b].numpy(), stress, rtol=1e-8, atol=1e-12)
        start += n
    assert np.abs(out["stress"][3].numpy()).max() > 1e-4  # the water box has a stress to compare


def test_torchsim_accepts_the_model():
    """TorchSim's own check of the interface (shapes, no mutation of the state, batches of Si and Fe)."""
    from torch_sim.models.interface import validate_model_outputs

    sim = GauntModel(small_model(elements=("Si", "Fe"), r_max=3.0), device="cpu", dtype="float64")
    validate_model_outputs(sim, torch.device("cpu"), torch.float64)


def test_langevin_nvt_runs_a_batch_and_batched_fire_relaxes_ten_molecules():
    model = GauntModel("gaunt-acac", device="cpu", dtype="float64")
    frames = read(DATA / "acac" / "test_MD_300K.xyz", ":10")
    for i, atoms in enumerate(frames):
        atoms.rattle(0.03, seed=i)
    state = ts.io.atoms_to_state(frames[:2], model.device, model.dtype)
    final = ts.integrate(state, model, integrator=ts.nvt_langevin, n_steps=20, temperature=300, timestep=0.0005)
    assert final.positions.shape == (30, 3) and torch.isfinite(final.positions).all()
    assert 0.01 < float((final.positions - state.positions).norm(dim=1).max()) < 0.5  # Å: it moved, and sanely

    state = ts.io.atoms_to_state(frames, model.device, model.dtype)
    converged = ts.generate_force_convergence_fn(force_tol=0.02, include_cell_forces=False)
    relaxed = ts.optimize(state, model, optimizer=ts.optimizers.fire, convergence_fn=converged, max_steps=1500)
    forces = model(relaxed)["forces"].reshape(10, 15, 3).norm(dim=2).amax(dim=1)
    assert (forces < 0.02).all(), forces  # eV/Å, every molecule
    energies = model(relaxed)["energy"]
    assert (energies < model(state)["energy"]).all()
