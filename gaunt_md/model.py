"""The Gaunt force field: a MACE-like equivariant message-passing potential built on Gaunt products.

Energy E = Σ_i (E0[z_i] + scale · Σ_t e_i^(t) + shift) in eV, with e_i^(t) the readout of layer t,
plus, with ``pair_repulsion="zbl"``, a switched ZBL pair prior Σ_{i<j} E_ij(r_ij) (``nn/pair_repulsion.py``),
in float64 whatever the model's dtype (the E0s are large);
forces F = -∂E/∂x (eV/Å) and stress σ = (1/V) ∂E/∂ε (eV/Å^3, strain ε) by automatic
differentiation, so they are exact derivatives of the energy.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
from ase.data import chemical_symbols
from e3nn import o3

from .config import ModelConfig
from .data import atomic_numbers_of
from .derivatives import energy_and_derivatives
from .files import atomic_write
from .formats import FORMAT, FORMAT_VERSION, from_version_1, from_version_2, upgrade
from .nn import DegreeLinear, Dense, GauntConvolution, ManyBodyProduct, MixedManyBodyProduct, ZBLRepulsion
from .nn.neighbours import NeighbourTable
from .nn.radial import RadialTable, mlp

NEGLIGIBLE = 1e-30  # a loaded weight below this is zero: its float32 products would be denormal (from_blob)


class InteractionLayer(torch.nn.Module):
    """Gaunt convolution → channel mixing → many-body product → channel mixing, plus a residual."""

    def __init__(self, cfg: ModelConfig, lmax_in: int, lmax_out: int) -> None:
        super().__init__()
        c = cfg.channels
        self.lmax_out = lmax_out
        self.linear_in = DegreeLinear(c, c, lmax_in)
        self.conv = GauntConvolution(
            c, lmax_in, cfg.lmax, cfg.r_max, cfg.num_basis, cfg.radial_hidden, cfg.radial_groups, cfg.radial_by_input
        )
        self.linear_a = DegreeLinear(c, c, cfg.lmax)
        if cfg.many_body == "channel":
            self.product = ManyBodyProduct(
                c, cfg.lmax, lmax_out, cfg.correlation, len(cfg.elements), cfg.many_body_rank
            )
        else:
            self.product = MixedManyBodyProduct(c, cfg.lmax, lmax_out, cfg.correlation, len(cfg.elements))
        self.linear_out = DegreeLinear(c * cfg.many_body_rank, c, lmax_out)
        self.skip = DegreeLinear(c, c, min(lmax_in, lmax_out))

    def forward(self, h, species, lengths, y, table, avg_num_neighbors):
        """h: [N, (lmax_in+1)**2, C] → [N, (lmax_out+1)**2, C]."""
        a = self.conv(self.linear_in(h), lengths, y, table, avg_num_neighbors)
        out = self.linear_out(self.product(self.linear_a(a), species))
        n_skip = (self.skip.lmax + 1) ** 2
        return out + torch.nn.functional.pad(self.skip(h[:, :n_skip]), (0, 0, 0, out.shape[1] - n_skip))


class GauntForceField(torch.nn.Module):
    """Equivariant interatomic potential whose tensor products are Gaunt products.

    ``GauntForceField(elements, **options)``: ``elements`` are the chemical symbols or atomic numbers
    the model handles; ``options`` are :class:`~gaunt_md.config.ModelConfig` fields by keyword (which
    lists each with its default and unit), e.g. ``r_max=5.0`` (Å), ``channels=128``, ``lmax=3``, and
    ``e0s={Z or symbol: eV}``.

    The model is built in float64, so its constants (Gaunt tables, E0s) are exact there; ``.float()``
    (or ``GauntCalculator(..., dtype="float32")``) casts it down.
    """

    def __init__(self, elements: list[str | int] | tuple = ("H", "C", "O"), **options: Any) -> None:
        super().__init__()
        zs = atomic_numbers_of(elements)
        options["e0s"] = {atomic_numbers_of([k])[0]: float(v) for k, v in (options.get("e0s") or {}).items()}
        known = {f.name for f in fields(ModelConfig)} - {"elements"}
        if unknown := sorted(set(options) - known):
            raise ValueError(f"unknown model option(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        self.config = cfg = ModelConfig(elements=zs, **options)
        r_max, channels, lmax, hidden_lmax, num_layers = (
            cfg.r_max,
            cfg.channels,
            cfg.lmax,
            cfg.hidden_lmax,
            cfg.num_layers,
        )
        e0 = cfg.e0s
        self.species_of = {z: i for i, z in enumerate(zs)}
        self.spherical_harmonics = o3.SphericalHarmonics(
            list(range(lmax + 1)), normalize=True, normalization="integral"
        )
        self.embedding = torch.nn.Parameter(torch.randn(len(zs), channels))
        degrees = [0] + [hidden_lmax] * (num_layers - 1) + [0]
        self.layers = torch.nn.ModuleList(
            InteractionLayer(self.config, degrees[t], degrees[t + 1]) for t in range(num_layers)
        )
        self.readouts = torch.nn.ModuleList(
            [Dense(channels, 1) for _ in range(num_layers - 1)] + [mlp([channels, 16, 1])]
        )
        self.register_buffer("e0", torch.tensor([e0.get(z, 0.0) for z in zs], dtype=torch.float64))
        self.pair_repulsion = ZBLRepulsion(zs, r_max, cfg.closest_pairs) if cfg.pair_repulsion == "zbl" else None
        self.double()  # constants (Gaunt tables, E0s) stay exact; .float() or the calculator casts down

    @property
    def elements(self) -> list[str]:
        return [chemical_symbols[z] for z in self.config.elements]

    def forward(self, graph, compute_forces: bool = True, compute_stress: bool = False) -> dict[str, torch.Tensor]:
        """Energies and derivatives of a batch of graphs (``gaunt_md.data.batch_graphs``, ``structure_graph``).

        Returns ``energy [B]`` (eV), ``energies [N]`` (eV per atom), and when asked ``forces [N, 3]``
        (eV/Å) and ``stress [B, 3, 3]`` (eV/Å^3; zero for non-periodic structures), the exact
        derivatives of the energy (:func:`gaunt_md.derivatives.energy_and_derivatives`).
        """
        return energy_and_derivatives(
            lambda vectors: self.atomic_energies(graph, vectors),
            graph,
            compute_forces,
            compute_stress,
            create_graph=self.training,
        )

    def atomic_energies(self, graph, vectors: torch.Tensor) -> torch.Tensor:
        """Per-atom energies [N] (eV) of a batch of graphs with edge vectors ``vectors`` [E, 3] (Å)."""
        return self.energies_of_edges(graph, *self.edge_features(vectors))

    def edge_features(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edge lengths [...] (Å) and spherical harmonics of the directions [..., (lmax+1)**2] of
        edge vectors [..., 3]."""
        return vectors.norm(dim=-1), self.spherical_harmonics(vectors)

    def energies_of_edges(self, graph, lengths: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-atom energies [N] (eV, float64) from the edges' lengths [E] and spherical harmonics [E, (lmax+1)**2]."""
        cfg, species = self.config, graph.species
        table = getattr(graph, "neighbour_table", None)  # given with padded, static shapes by gaunt_md.compiled
        if table is None:
            table = NeighbourTable.build(graph.edge_index[0], graph.edge_index[1], species.shape[0], cfg.radial_groups)
        h = self.embedding.index_select(0, species)[:, None, :]  # [N, 1, C]
        atom_energy = 0.0
        for layer, readout in zip(self.layers, self.readouts):
            h = layer(h, species, lengths, y, table, cfg.avg_num_neighbors)
            atom_energy = atom_energy + readout(h[:, 0]).squeeze(-1)  # [N]
        interaction = cfg.scale * atom_energy
        if self.pair_repulsion is not None:
            interaction = interaction + self.pair_repulsion(species, graph.edge_index, lengths)
        return self.e0.index_select(0, species) + cfg.shift + interaction.to(self.e0.dtype)

    def _apply(self, fn, recurse=True):
        """``.to()``, ``.float()`` and ``.cuda()`` move the E0s but keep them in float64, so that
        per-atom and total energies are float64 in a float32 model: an acac molecule's E0s sum to
        -9.4 keV, where float32 resolves only 1 meV (0.07 meV/atom; gaunt-acac's test energy RMSE is 0.10)."""
        e0 = self.e0
        super()._apply(fn, recurse)
        self.e0 = e0.to(device=self.e0.device, dtype=torch.float64)
        return self

    def for_inference(self, intervals: int = 4096) -> GauntForceField:
        """A copy of this model, in float64, rewritten for fast evaluation; it computes the same function.

        - Each layer's radial MLP R(r) becomes a cubic Hermite table on [0, r_max] (see
          :class:`gaunt_md.nn.radial.RadialTable`), built in float64 from the current weights: energies
          change by ~1e-9 of the interaction energy, forces by ~1e-8 eV/Å, and forces stay exact
          derivatives of the energy.
        - In models of formats 1-2 (``many_body: mixed``), the channel mixing before the many-body
          product is folded into the product's own (``linear_a`` then ``product.linear`` become one
          matrix per degree), exact up to rounding.
        - Linear maps that follow one another across layers become one (``_fold_linear_maps``): a
          layer's ``linear_in`` moves into the previous layer's ``linear_out`` and ``skip`` for the
          degrees nothing else reads, and the last readout's first map into the last layer's.
        - Every linear map's normalisation factor moves into its weights; the energy scale into the
          readouts, the shift into the E0s and 1/avg_num_neighbors into the radial tables (the copy's
          config has scale 1, shift 0, avg_num_neighbors 1), so that models that differ in these
          differ only in tensors (a committee evaluates them under one ``torch.vmap``).

        The copy no longer follows its weights: it is for evaluation (:class:`GauntCalculator` uses
        it), and it refuses to be trained from or saved. This model stays as it was."""
        model = copy.deepcopy(self).double()
        for layer in model.layers:
            layer.conv.radial = RadialTable(layer.conv.radial, model.config.r_max, intervals).to(device=model.e0.device)
            if not isinstance(layer.product, MixedManyBodyProduct):
                continue
            inner, outer = layer.linear_a, layer.product.linear
            with torch.no_grad():
                outer.weight.copy_(torch.matmul(inner.weight * inner.norm, outer.weight * outer.norm))
            outer.norm = 1.0
            layer.linear_a = torch.nn.Identity()
        for module in model.modules():
            if isinstance(module, (DegreeLinear, Dense)) and module.norm != 1.0:
                with torch.no_grad():
                    module.weight.mul_(module.norm)
                module.norm = 1.0
        _fold_linear_maps(model)
        cfg = model.config
        with torch.no_grad():
            for layer in model.layers:
                layer.conv.radial.coefficients.div_(cfg.avg_num_neighbors)
            for readout in model.readouts:  # a Dense, or an MLP whose last map is a Dense
                (readout[-1] if isinstance(readout, torch.nn.Sequential) else readout).weight.mul_(cfg.scale)
            model.e0.add_(cfg.shift)
        cfg.scale, cfg.shift, cfg.avg_num_neighbors = 1.0, 0.0, 1.0
        for p in model.parameters():
            p.requires_grad_(False)
        model.rewritten = True
        return model

    # ---- files -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write weights, hyperparameters, elements, E0s and the format version to one file."""
        blob = {"format": FORMAT, "format_version": FORMAT_VERSION, **self.record()}
        atomic_write(path, lambda tmp: torch.save(blob, str(tmp)))  # a reader never sees half a file

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> GauntForceField:
        """Rebuild a model saved with :meth:`save`, in float64; clear errors for files that are not models."""
        blob = read_model_file(path, map_location)
        if "committee" in blob:
            raise ValueError(
                f"{path} is a committee of {len(blob['committee']['members'])} models: load it with "
                "gaunt_md.committee.Committee.load or GauntCalculator"
            )
        return cls.from_blob(blob, path)

    @classmethod
    def from_blob(cls, blob: dict, path: str | Path) -> GauntForceField:
        """The model of one saved ``{"config", "state_dict"}`` record (``path`` names it in errors)."""
        cfg, version = upgrade(blob, Path(path))
        state = from_version_1(blob["state_dict"])
        try:
            model = cls(**cfg)
            model.load_state_dict(from_version_2(state, model) if version < 3 else state)  # float64: exact
        except (TypeError, RuntimeError, ValueError, KeyError) as exc:
            raise ValueError(
                f"{path} does not match the gaunt-md model architecture: {str(exc).splitlines()[0]}"
            ) from None
        with torch.no_grad():  # weights that a fit's weight decay was taking to zero: they weigh nothing, and their
            for p in model.parameters():  # float32 products are denormals that slow the CPU's arithmetic (runtime.py)
                p.masked_fill_(p.abs() < NEGLIGIBLE, 0.0)
        return model  # float64 holds float32 weights exactly; callers cast down (the calculator does)

    def record(self) -> dict:
        """What :meth:`save` writes: ``{"config", "state_dict"}`` (CPU tensors)."""
        if getattr(self, "rewritten", False):
            raise ValueError(
                "this model was rewritten by for_inference() and no longer matches its saved form; save the model it was made from"
            )
        cfg = asdict(self.config)
        if not cfg["parent"]:  # only fine-tuned models have one; the others stay readable by gaunt-md 0.2.0
            del cfg["parent"]
        return {"config": cfg, "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()}}


def _fold_linear_maps(model: GauntForceField) -> None:
    """Multiply out linear maps that follow one another (``for_inference``; normalisations already in
    the weights), so a force call does fewer matrix products: the same function up to rounding.

    - Layer t+1's ``linear_in`` acts on layer t's output h = linear_out(B) + skip(h_t). Its degrees
      l ≥ 1 that layer t+1's ``skip`` does not read feed nothing else (the readouts read degree 0),
      so layer t's ``linear_out`` and ``skip`` take W_in,l into their matrices of degree l and layer
      t+1's ``linear_in`` passes those degrees through (``DegreeLinear.mixed``).
    - The last layer's output (degree 0) feeds only the last readout, whose first map (C → 16, no
      bias) moves into the last layer's ``linear_out`` and ``skip``.
    """
    with torch.no_grad():
        for layer, following in zip(model.layers[:-1], model.layers[1:]):
            first = following.skip.lmax + 1
            for l in range(first, following.linear_in.lmax + 1):
                w = following.linear_in.weight[l]
                layer.linear_out.weight[l] = layer.linear_out.weight[l] @ w
                if l <= layer.skip.lmax:
                    layer.skip.weight[l] = layer.skip.weight[l] @ w
            following.linear_in.mixed = min(first, following.linear_in.mixed)
        last, head = model.layers[-1], model.readouts[-1]
        for linear in (last.linear_out, last.skip):
            linear.weight = torch.nn.Parameter(linear.weight @ head[0].weight, requires_grad=False)
        head[0] = torch.nn.Identity()


def read_model_file(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The dictionary in a gaunt-md model file (one model or a committee); ValueError for other files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise ValueError(f"{path} is not a gaunt-md model file (could not be read: {type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gaunt-md model file")
    return blob


__all__ = ["FORMAT_VERSION", "GauntForceField", "ModelConfig", "read_model_file"]
