"""Lattice and elastic constants of a cubic crystal from the strained frames of mlearn's "Elastic" group.

Each mlearn element has a DFT ground-state crystal ("Ground state crystal") and clamped-ion strains
of it along one Voigt component at a time (atoms not relaxed). How the DFT values are derived:

- strain of a frame: ε = sym(F) - I with F = cell_ground^-1 cell (small-strain tensor; Voigt with
  engineering shear γ = 2ε), its mode the largest component;
- C_ij (GPa): the linear coefficient of a quadratic fit of stress σ_i against the strain ε_j of mode j
  (ground state included at ε = 0), averaged over the cubic equivalents (C11: ii, C12: ij normal i ≠ j,
  C44: shear jj). A constant stress offset (mlearn Cu and Ni carry a Pulay offset) does not change a slope;
- residual stress σ0 (GPa) of the ground-state cell from the energies: the linear coefficient of a
  quadratic fit of E/V against ε_j over the normal modes (dE/dε = V σ at ε = 0), so that no stress label
  enters it; the lattice constant the data implies is a = a_ground (1 + ε*), ε* = -σ0 / (C11 + 2 C12),
  the isotropic strain that removes σ0;
- C11 and C44 also from the energies alone (the curvature of E/V against ε_j), a check on the stress
  labels (mlearn Li's shear stresses are unreliable: use its energy C44).

The same function applied to a model's energies and stresses on the same cells gives the model's
clamped-ion values by the identical procedure (``models/materials.py``).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms, units

MAX_STRAIN = 0.05  # only strains up to 5% enter the fits (mlearn goes to 10%, far from linear)


def ground_and_strained(frames: list[Atoms]) -> tuple[Atoms, list[Atoms]]:
    """The ground-state crystal and the strained copies of its cell among ``frames`` (the Elastic group)."""
    ground = [a for a in frames if "Ground state" in a.info.get("description", "")]
    if len(ground) != 1:
        raise ValueError(f"expected one ground-state crystal, found {len(ground)}")
    g = ground[0]
    strained = [
        a
        for a in frames
        if a is not g
        and len(a) == len(g)
        and a.info.get("config_type") == "Elastic"
        and "mode" in a.info["description"]
    ]
    return g, strained


def voigt_strain(ground: Atoms, atoms: Atoms) -> np.ndarray:
    """Small-strain Voigt vector [xx, yy, zz, 2yz, 2xz, 2xy] of ``atoms``'s cell relative to ``ground``'s."""
    f = np.linalg.solve(ground.cell.array, atoms.cell.array).T
    e = 0.5 * (f + f.T) - np.eye(3)
    return np.array([e[0, 0], e[1, 1], e[2, 2], 2 * e[1, 2], 2 * e[0, 2], 2 * e[0, 1]])


def cubic_constants(ground: Atoms, strained: list[Atoms], energy: np.ndarray, stress: np.ndarray) -> dict:
    """a (Å, of the conventional cell, from ground's cell / n_cells^(1/3)), C11, C12, C44, σ0 and
    the energy-only C11 and C44 (GPa)
    from the energies (eV) [1 + S] and Voigt stresses (eV/Å^3, ASE sign) [1 + S, 6] of the ground
    state followed by the ``strained`` frames."""
    strains = np.array([np.zeros(6)] + [voigt_strain(ground, a) for a in strained])
    modes = np.abs(strains).argmax(1)
    slopes = np.full((6, 6), np.nan)  # slopes[i, j] = dσ_i/dε_j (GPa)
    curvature = np.full(6, np.nan)  # d²(E/V)/dε_j² (GPa): C_jj from energies alone
    residual = []
    for j in range(6):
        use = ((modes == j) | (np.arange(len(modes)) == 0)) & (np.abs(strains[:, j]) <= MAX_STRAIN)
        if use.sum() < 3:
            continue
        x = strains[use, j]
        for i in range(6):
            slopes[i, j] = np.polyfit(x, stress[use, i] / units.GPa, 2)[1]
        quadratic = np.polyfit(x, energy[use] / ground.get_volume() / units.GPa, 2)
        curvature[j] = 2 * quadratic[0]
        if j < 3:
            residual.append(quadratic[1])
    c11 = np.nanmean([slopes[i, i] for i in range(3)])
    c12 = np.nanmean([slopes[i, j] for i in range(3) for j in range(3) if i != j])
    c44 = np.nanmean([slopes[i, i] for i in range(3, 6)])
    sigma0 = float(np.mean(residual))
    n_cells = conventional_cells(ground)
    a_ground = (ground.get_volume() / n_cells) ** (1 / 3)
    return {
        "a": a_ground * (1 - sigma0 / (c11 + 2 * c12)),
        "a_ground_cell": a_ground,
        "C11": c11,
        "C12": c12,
        "C44": c44,
        "sigma0_from_energies": sigma0,
        "C11_from_energies": np.nanmean(curvature[:3]),
        "C44_from_energies": np.nanmean(curvature[3:]),
        "frames": len(strained) + 1,
    }


def conventional_cells(atoms: Atoms) -> int:
    """Conventional cubic cells in ``atoms``: atoms / atoms per cell (diamond 8, fcc 4, bcc 2)."""
    per_cell = {"Si": 8, "Ge": 8, "Cu": 4, "Ni": 4, "Li": 2, "Mo": 2}[atoms.get_chemical_symbols()[0]]
    return len(atoms) // per_cell
