"""Pseudo-tensor channels (``GauntForceField(pseudo=True)``): the bracket layers against references
built from ``gaunt_product`` / ``gaunt_bracket`` term by term, parity, and that the path is live."""

import pytest
import torch
from ase.build import molecule
from e3nn import o3

from gaunt_md import GauntCalculator, GauntForceField
from gaunt_md.data import atoms_to_graph, batch_graphs
from gaunt_md.nn import GauntConvolution, ManyBodyProduct
from gaunt_md.nn.neighbours import NeighbourTable
from gaunt_md.so3 import gaunt_bracket, gaunt_product

from conftest import small_model

F64 = torch.float64


def _ethanol():
    atoms = molecule("CH3CH2OH")
    atoms.rattle(0.1, seed=1)
    return atoms


def test_many_body_product_is_the_graded_expansion():
    """correlation 2: B = a1 + a1·a2 + {a1, a2} in the algebra natural ⊕ pseudo, term by term."""
    torch.manual_seed(0)
    c, lmax, lmax_out = 3, 2, 2
    module = ManyBodyProduct(c, lmax, lmax_out, 2, num_elements=2, pseudo=True).double()
    with torch.no_grad():
        for w in (module.element_weights, module.element_weights_pseudo):
            w.normal_()
    a, ap = torch.randn(4, (lmax + 1) ** 2, c, dtype=F64), torch.randn(4, (lmax + 1) ** 2, c, dtype=F64)
    species = torch.tensor([0, 1, 1, 0])
    b, bp = module(a, species, ap)
    u = (module.linear(a) * module.element_weights[species][:, None]).view(4, -1, 2, c).unbind(2)
    v = (module.linear_pseudo(ap) * module.element_weights_pseudo[species][:, None]).view(4, -1, 2, c).unbind(2)

    def prod(x, y):
        return gaunt_product(x.transpose(1, 2), y.transpose(1, 2), lmax_out, backend="dense").transpose(1, 2)

    def br(x, y):
        return gaunt_bracket(x.transpose(1, 2), y.transpose(1, 2), lmax_out, backend="dense").transpose(1, 2)

    n_out = (lmax_out + 1) ** 2
    natural = u[0][:, :n_out] + prod(u[0], u[1]) + prod(v[0], v[1]) + br(u[0], v[1]) + br(v[0], u[1])
    pseudo = v[0][:, :n_out] + prod(u[0], v[1]) + prod(v[0], u[1]) + br(u[0], u[1]) + br(v[0], v[1])
    torch.testing.assert_close(b, natural, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(bp, pseudo, atol=1e-12, rtol=1e-10)
    b0, bp0 = module(a, species)  # no pseudo input: B = a1 + a1 a2, Bp = {a1, a2}
    torch.testing.assert_close(b0, u[0][:, :n_out] + prod(u[0], u[1]), atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(bp0, br(u[0], u[1]), atol=1e-12, rtol=1e-10)


def test_convolution_bracket_equals_the_per_edge_sum():
    """A = Σ_j Gaunt(h_j, F_ij) + {hp_j, F_ij}, Ap = Σ_j {h_j, F_ij} + Gaunt(hp_j, F_ij)."""
    torch.manual_seed(1)
    c, lmax_in, lmax, groups = 4, 1, 2, 2
    conv = GauntConvolution(c, lmax_in, lmax, num_basis=5, radial_hidden=8, radial_groups=groups, pseudo=True).double()
    n, centers, neighbours = 3, torch.tensor([0, 0, 1, 2, 2]), torch.tensor([1, 2, 0, 0, 1])
    radial, vectors = torch.rand(5, 5, dtype=F64), torch.randn(5, 3, dtype=F64)
    y = o3.spherical_harmonics(list(range(lmax + 1)), vectors, normalize=True, normalization="integral")
    h, hp = torch.randn(n, (lmax_in + 1) ** 2, c, dtype=F64), torch.randn(n, (lmax_in + 1) ** 2, c, dtype=F64)
    a, ap = conv(h, radial, y, NeighbourTable.build(centers, neighbours, n, groups), 2.0, hp)
    r = conv.radial(radial).view(5, groups, lmax + 1).repeat_interleave(c // groups, dim=1)  # [E, C, l]
    degree = torch.tensor([l for l in range(lmax + 1) for _ in range(2 * l + 1)])
    filters = r[:, :, degree] * y[:, None, :]  # [E, C, (lmax+1)**2]
    ref_a, ref_ap = torch.zeros_like(a), torch.zeros_like(ap)
    for e, (i, j) in enumerate(zip(centers.tolist(), neighbours.tolist())):
        f = filters[e]
        ref_a[i] += (gaunt_product(h[j].t(), f, lmax, backend="dense") + gaunt_bracket(hp[j].t(), f, lmax, backend="dense")).t() / 2.0
        ref_ap[i] += (gaunt_bracket(h[j].t(), f, lmax, backend="dense") + gaunt_product(hp[j].t(), f, lmax, backend="dense")).t() / 2.0
    torch.testing.assert_close(a, ref_a, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(ap, ref_ap, atol=1e-12, rtol=1e-10)


def test_hidden_pseudo_features_have_flipped_parity():
    """Under inversion x → -x, h_l gets (-1)^l and hp_l gets -(-1)^l; hp is not zero."""
    model = small_model(pseudo=True)
    outputs = []
    model.layers[0].register_forward_hook(lambda module, inputs, out: outputs.append(out))
    atoms = _ethanol()
    for sign in (1.0, -1.0):
        moved = atoms.copy()
        moved.positions *= sign
        model(batch_graphs([atoms_to_graph(moved, model.config.r_max, model.species_of)]), compute_forces=False)
    (h, hp), (h_inv, hp_inv) = outputs
    assert hp.abs().max() > 1e-6
    for l in range(model.config.hidden_lmax + 1):
        block = slice(l * l, (l + 1) ** 2)
        torch.testing.assert_close(h_inv[:, block], (-1) ** l * h[:, block], atol=1e-12, rtol=0)
        torch.testing.assert_close(hp_inv[:, block], -((-1) ** l) * hp[:, block], atol=1e-12, rtol=0)


def test_the_pseudo_path_changes_the_energy():
    """Scaling the pseudo output of layer 1 moves E: the path is connected (a disconnected one moves
    it by round-off, ~1e-13 eV here; the bracket terms are second order in small densities at
    initialisation, like the product's own, so the change is small but far above round-off)."""
    model = small_model(pseudo=True)
    atoms = _ethanol()
    atoms.calc = GauntCalculator(model, device="cpu", dtype="float64")
    energy = atoms.get_potential_energy()
    with torch.no_grad():
        model.layers[0].linear_out_pseudo.weight.mul_(10.0)
    atoms.calc = GauntCalculator(model, device="cpu", dtype="float64")
    assert abs(atoms.get_potential_energy() - energy) > 1e-9


def test_pseudo_needs_two_densities():
    with pytest.raises(ValueError, match="correlation ≥ 2"):
        GauntForceField(elements=["H"], pseudo=True, correlation=1)
