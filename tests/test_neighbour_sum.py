"""The blocked neighbour sum of the convolution against the plain gather + einsum it replaces."""

import numpy as np
import pytest
import torch

from gaunt_md.nn import neighbour_sum as module
from gaunt_md.nn.neighbour_sum import neighbour_sum


def table(rows=7, width=5, seed=0):
    """A neighbour table with empty slots (index ``rows``) and rows that many slots read."""
    gen = torch.Generator().manual_seed(seed)
    neighbour = torch.randint(0, rows, (rows * width,), generator=gen)
    neighbour[torch.rand(rows * width, generator=gen) < 0.3] = rows
    neighbour[:width] = rows  # one row with no neighbours at all
    return neighbour


def reference(phi, h, neighbour, width):
    padded = torch.cat([h, h.new_zeros(1, h.shape[1])])
    hn = padded[neighbour].view(-1, width, h.shape[1])
    return torch.einsum("rwf,rwc->rfc", phi.view(-1, width, phi.shape[1]), hn)


def inputs(neighbour, width, features=4, channels=6, seed=1):
    gen = torch.Generator().manual_seed(seed)
    rows = neighbour.shape[0] // width
    phi = torch.randn(rows * width, features, generator=gen, dtype=torch.float64)
    phi[neighbour == rows] = 0.0  # the convolution's filters are zero in empty slots
    return phi, torch.randn(rows, channels, generator=gen, dtype=torch.float64)


def derivatives(fn, phi, h, neighbour, width, wanted, v):
    x = [t.clone().requires_grad_(w) for t, w in zip((phi, h), wanted)]
    out = fn(*x, neighbour, width)
    leaves = [t for t in x if t.requires_grad]
    first = torch.autograd.grad((out * v).sum(), leaves, create_graph=True)
    second = torch.autograd.grad(sum((g * g).sum() for g in first) + (out * out).sum(), leaves, create_graph=True)
    third = torch.autograd.grad(sum((g * g.sin()).sum() for g in second), leaves)
    return [out, *first, *second, *third]


@pytest.mark.parametrize("block_bytes", [None, 2 * 5 * 6 * 8])
def test_values_and_derivatives_to_third_order_equal_the_plain_sum(monkeypatch, block_bytes):
    """Forward and written-out derivatives (every order is the same Function), over block edges."""
    if block_bytes:
        monkeypatch.setattr(module, "BLOCK_BYTES", block_bytes)
    neighbour, width = table(), 5
    rows_per_block = module._rows_per_block(width, 6, torch.empty(1, dtype=torch.float64))
    assert rows_per_block == 2 if block_bytes else rows_per_block > 7  # blocks of 2 rows, or one block
    phi, h = inputs(neighbour, width)
    v = torch.randn(7, 4, 6, dtype=torch.float64)
    for wanted in ((True, True), (True, False), (False, True)):
        got = derivatives(neighbour_sum, phi, h, neighbour, width, wanted, v)
        ref = derivatives(reference, phi, h, neighbour, width, wanted, v)
        for a, b in zip(got, ref, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradcheck_and_gradgradcheck(monkeypatch):
    monkeypatch.setattr(module, "BLOCK_BYTES", 3 * 4 * 3 * 8)
    neighbour, width = table(rows=5, width=4, seed=2), 4
    phi, h = inputs(neighbour, width, features=2, channels=3)
    phi.requires_grad_(), h.requires_grad_()
    fn = lambda p, x: neighbour_sum(p, x, neighbour, width)
    assert torch.autograd.gradcheck(fn, (phi, h))
    assert torch.autograd.gradgradcheck(fn, (phi, h))


def test_empty_table():
    out = neighbour_sum(torch.zeros(0, 4), torch.zeros(0, 6), torch.zeros(0, dtype=torch.long), 1)
    assert out.shape == (0, 4, 6)


def test_neighbour_table_inverts_its_edge_map():
    """The edge map's inverse, written directly, equals the generic inverse table."""
    from gaunt_md.nn.gather import inverse_table
    from gaunt_md.nn.neighbours import NeighbourTable

    gen = torch.Generator().manual_seed(3)
    centers = torch.randint(0, 9, (40,), generator=gen)  # unsorted, with atoms that have no edges
    neighbours = torch.randint(0, 9, (40,), generator=gen)
    table = NeighbourTable.build(centers, neighbours, 10, 3)
    assert table.width == int(torch.bincount(centers).max())
    assert np.array_equal(table.edge_table.numpy(), inverse_table(table.edge.numpy(), 40 * 3))
    slots = inverse_table(centers.numpy(), 10)  # by definition: each center's edges in order, then len(centers)
    for atom in range(10):
        mine = torch.nonzero(centers == atom).flatten().tolist()
        assert slots[atom].tolist() == mine + [40] * (table.width - len(mine))
    slot = table.edge_table[:, 0].view(40, 3)
    assert torch.equal(slot // (3 * table.width), centers[:, None].expand(40, 3))  # each edge sits in its center's row
    assert torch.equal(table.neighbour[slot.reshape(-1)], (neighbours[:, None] * 3 + torch.arange(3)).reshape(-1))


def test_the_scatter_pass_traces_to_scatter_add_not_index_add():
    """Inductor compiles index_add into atomic adds on several threads (a 192-atom compiled force call
    ran 1.36x slower with them) but sends scatter_add to ATen's sorted kernel, so the backward's
    scatter must stay a scatter_add in the traced graph that ``gaunt_md.compiled`` compiles."""
    from torch.fx.experimental.proxy_tensor import make_fx

    neighbour, width = table(), 5
    phi, _ = inputs(neighbour, width)
    g = torch.randn(7, 4, 6, dtype=torch.float64)
    graph = make_fx(lambda p, x: module._contract(module.SCATTER, p, x, neighbour, width))(phi, g)
    targets = {str(node.target) for node in graph.graph.nodes if node.op == "call_function"}
    assert "aten.scatter_add_.default" in targets and not any("index_add" in t for t in targets)
    expected = torch.zeros(8, 6, dtype=torch.float64)  # H[j] = Σ_{s: nb(s)=j} Σ_f φ[s, f] g[row(s), f]
    expected.index_add_(0, neighbour, torch.einsum("rwf,rfc->rwc", phi.view(7, width, 4), g).reshape(-1, 6))
    torch.testing.assert_close(graph(phi, g), expected[:7], rtol=1e-12, atol=1e-12)
