"""Forces and stress as exact derivatives of an energy (as MACE's ``get_outputs`` and nequip's
``ForceStressOutput``): the model defines only per-atom energies of the edge vectors."""

from __future__ import annotations

from collections.abc import Callable

import torch


def energy_and_derivatives(
    atomic_energies: Callable[[torch.Tensor], torch.Tensor],
    graph,
    compute_forces: bool = True,
    compute_stress: bool = False,
    create_graph: bool = False,
    copies: int | None = None,
) -> dict[str, torch.Tensor]:
    """Energies of a batch of graphs and, when asked, their derivatives.

    ``atomic_energies(vectors)`` maps the edge vectors r_ij = x_j - x_i + shift [E, 3] (Å) to per-atom
    energies [N] (eV). The vectors are built here from the positions and a zero strain ε per graph
    (x → x (1 + ε)), so that forces F = -∂E/∂x [N, 3] (eV/Å) and stress σ = (1/V) ∂E/∂ε [B, 3, 3]
    (eV/Å^3, symmetrised; zero for non-periodic graphs, whose volume is 0) are exact gradients.
    ``create_graph`` keeps them differentiable (training on forces). Returns ``energy [B]``,
    ``energies [N]`` and the derivatives asked for.

    With ``copies`` K, positions and strains are K independent copies: ``atomic_energies`` maps
    vectors [K, E, 3] to energies [K, N] (copy k's energies depend on copy k's vectors only, as a
    committee's members do), and every output gains a leading axis K, from one backward pass.
    """
    positions, batch, num_graphs = graph.positions, graph.batch, int(graph.num_graphs)
    centers, neighbours = graph.edge_index[0], graph.edge_index[1]
    compute_forces, compute_stress = bool(compute_forces), bool(compute_stress)
    lead = () if copies is None else (copies,)
    strain = positions.new_zeros(*lead, num_graphs, 3, 3, requires_grad=compute_stress)
    positions = positions.detach().expand(*lead, *positions.shape)
    if compute_forces:
        positions = positions.clone().requires_grad_(True)
    vectors = positions.index_select(-2, neighbours) - positions.index_select(-2, centers) + graph.shifts
    vectors = vectors + torch.einsum(
        "...ei,...eij->...ej", vectors, strain.index_select(-3, batch.index_select(0, centers))
    )
    energies = atomic_energies(vectors)
    # one structure (MD): a plain sum, which inductor also compiles for a float32 model's float64 energies
    if num_graphs == 1:
        energy = energies.sum(-1, keepdim=True)
    else:
        energy = energies.new_zeros(*lead, num_graphs).index_add(-1, batch, energies)
    out = {"energy": energy, "energies": energies}
    inputs = [t for t, want in ((positions, compute_forces), (strain, compute_stress)) if want]
    if not inputs:
        return out
    grads = torch.autograd.grad(energy.sum(), inputs, create_graph=create_graph, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, grads)]
    if compute_forces:
        out["forces"] = -grads[0]
    if compute_stress:
        virial = grads[-1]
        volume = graph.volume.to(virial.dtype)[:, None, None]
        stress = 0.5 * (virial + virial.transpose(-1, -2)) / volume.clamp(min=1e-12)
        out["stress"] = torch.where(volume > 0, stress, torch.zeros_like(stress))
    return out
