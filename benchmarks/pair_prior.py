"""Hot MD and dimer curves of models fitted with and without the ZBL pair prior, beside the shipped model.

Models (``--models NAME=PATH_OR_REGISTRY_NAME``; default: the shipped ``gaunt-<system>``, without the
prior, and the same weights with it, see :func:`default_models`):

- Hot MD: ``gaunt-md md`` from the first frame of the system's test file, NVT (Langevin, seed 0),
  0.5 fs steps, float64, one thread, a frame every 20 steps, two runs at a time. A run that blows up
  (NaN, or an atom moving > 0.5 Å in one step) ends with exit 1: recorded as stopped at the last step
  in its CSV log. From each trajectory: the smallest interatomic distance (Å) over all frames and its
  step; whether the molecule stayed intact (``intact``: in every frame the bond graph of the non-H
  atoms, bonds being pairs closer than 1.25 covalent-radius sums, equals the first frame's, and every
  H is within 1.5 sums of a non-H atom, so a proton moving between two O counts as intact); ns/day over the wall
  time of the whole command.
- Dimers: isolated H-H, C-H, C-C, C-O and O-O pairs at r = 0.3 b ... 2 b (b: the sum of ASE's
  covalent radii), energies (eV, float64) relative to the energy at r = b; E(0.5 b) - E(b) per pair,
  and whether the curve rises monotonically as r falls below 0.8 b.

    python benchmarks/pair_prior.py --system acac --temperatures 600 1000 --steps 20000  # 6 runs of 10 ps, ~40 min on 2 cores
    python benchmarks/pair_prior.py --report
    python benchmarks/pair_prior.py --smoke    # the tiny models of ablation.py --smoke, 40 steps; outputs in benchmarks/_work/smoke

Results: ``benchmarks/results/pair_prior.json`` (system → md/dimers → model, merged), the "pair_prior"
section of ``docs/accuracy.md``, ``benchmarks/results/pair_prior_dimers_<system>.png``. Trajectories:
``benchmarks/_work/pair_prior/<system>/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
from pathlib import Path

import numpy as np
from _docs import write_section
from _runs import GAUNT_MD, Job, merge_json, places, provenance, run_side_by_side, work_root
from accuracy import SYSTEMS

PAIRS = [("H", "H"), ("C", "H"), ("C", "C"), ("C", "O"), ("O", "O")]
X = np.linspace(0.3, 2.0, 69)  # r / b, in steps of 0.025: holds 0.5, 0.8 and 1 exactly
BOND_FACTOR = 1.25  # a bond between heavy atoms: closer than 1.25 covalent-radius sums
# an H stays on the molecule within 1.5 sums of a heavy atom: acac's enol proton, shared between its two
# O atoms, sits up to 1.42 sums from the nearer one at 1000 K (a proton transfer, not a broken molecule)
H_FACTOR = 1.5
MIN_DISTANCE = 0.6  # Å: the target's closest approach
TIMESTEP = 0.5  # fs
TRAJ_EVERY = 20


def default_models(system: str, smoke: bool) -> dict[str, str]:
    """The shipped model (fitted before the prior existed) and the same weights with the prior added.
    The prior is zero beyond 0.75 b and every pair of the molecular data sets is at 0.80 b or more,
    so a fit with the prior is the fit without it, step for step (``tests/test_pair_repulsion.py``):
    "shipped+zbl" is what refitting the shipped model with the prior gives. With ``--smoke``, the
    ``default`` (prior) and ``no-prior`` fits of ``ablation.py --smoke``."""
    if smoke:
        work = work_root(smoke) / "ablation" / system
        return {"default": str(work / "default" / "model.pt"), "no-prior": str(work / "no-prior" / "model.pt")}
    return {
        "shipped": f"gaunt-{system}",
        "shipped+zbl": str(with_prior(f"gaunt-{system}", work_root(False) / "pair_prior" / system)),
    }


def with_prior(name: str, folder: Path) -> Path:
    """A model file of registry model ``name`` with the ZBL prior added (the network's weights unchanged)."""
    from dataclasses import asdict

    from gaunt_md import GauntForceField
    from gaunt_md.hub import load_model

    model = load_model(name)
    options = {k: v for k, v in asdict(model.config).items() if k != "elements"} | {"pair_repulsion": "zbl"}
    prior = GauntForceField(model.config.elements, **options)
    prior.load_state_dict(model.state_dict())
    folder.mkdir(parents=True, exist_ok=True)
    prior.save(folder / f"{name}+zbl.pt")
    return folder / f"{name}+zbl.pt"


def last_step(log: Path) -> int:
    rows = list(csv.DictReader(log.open())) if log.is_file() else []
    return int(rows[-1]["step"]) if rows else 0


def md_job(system: str, name: str, model: str, temperature: float, steps: int, work: Path) -> Job:
    prefix = work / f"{name}_{temperature:g}K"
    cmd = [
        *GAUNT_MD,
        "md",
        str(SYSTEMS[system][1]),
        "--index",
        "0",
        "--model",
        model,
        "--ensemble",
        "nvt",
        "--temperature",
        str(temperature),
        "--timestep",
        str(TIMESTEP),
        "--steps",
        str(steps),
        "--dtype",
        "float64",
        "--threads",
        "1",
        "--traj-every",
        str(TRAJ_EVERY),
        "--output",
        str(prefix),
        "--force",
    ]
    log = prefix.with_suffix(".csv")
    return Job(f"{name} {temperature:g} K", cmd, prefix.with_suffix(".log"), lambda: f"step {last_step(log)}/{steps}")


def trajectory_checks(trajectory: Path) -> dict:
    """Closest approach (Å) over all frames and its step; first step where the molecule is not intact."""
    from ase.data import covalent_radii
    from ase.io import read

    frames = read(trajectory, ":")
    z = frames[0].numbers
    sums = covalent_radii[z][:, None] + covalent_radii[z][None, :]
    heavy, hydrogen = z != 1, z == 1
    closest, closest_step, broken_step, skeleton0 = np.inf, None, None, None
    for atoms in frames:
        d = atoms.get_all_distances()
        np.fill_diagonal(d, np.inf)
        if d.min() < closest:
            closest, closest_step = float(d.min()), int(atoms.info["step"])
        skeleton = (d < BOND_FACTOR * sums)[np.ix_(heavy, heavy)]
        skeleton0 = skeleton if skeleton0 is None else skeleton0
        if broken_step is None and not (
            np.array_equal(skeleton, skeleton0) and (d < H_FACTOR * sums)[np.ix_(hydrogen, heavy)].any(axis=1).all()
        ):
            broken_step = int(atoms.info["step"])
    return {
        "frames": len(frames),
        "min_distance_A": closest,
        "min_distance_step": closest_step,
        "intact": broken_step is None,
        "broken_at_step": broken_step,
    }


def hot_md(system: str, models: dict[str, str], temperatures: list[float], steps: int, work: Path) -> dict:
    jobs = {
        (name, t): md_job(system, name, model, t, steps, work) for t in temperatures for name, model in models.items()
    }
    todo = list(jobs.values())
    run_side_by_side([todo[i : i + 2] for i in range(0, len(todo), 2)])
    out: dict = {}
    for (name, t), job in jobs.items():
        prefix = work / f"{name}_{t:g}K"
        if not prefix.with_suffix(".extxyz").is_file():
            raise SystemExit(f"{job.name} wrote no trajectory (exit {job.returncode}); see {job.console}")
        done = steps if job.returncode == 0 else last_step(prefix.with_suffix(".csv"))
        error = (
            [line for line in job.console.read_text().splitlines() if line.startswith("Error")]
            if job.returncode
            else []
        )
        out.setdefault(name, {})[f"{t:g}"] = {
            **provenance(1),
            "model": models[name],
            "md_command": shlex.join(job.cmd),
            "temperature_K": t,
            "timestep_fs": TIMESTEP,
            "steps": steps,
            "steps_completed": done,
            "stopped_at_step": None if job.returncode == 0 else done,
            "error": " ".join(error),
            "ns_per_day": done * TIMESTEP * 1e-6 / job.seconds * 86400,
            **trajectory_checks(prefix.with_suffix(".extxyz")),
        }
    return out


def dimer_curves(model: str) -> dict:
    """Energy (eV) relative to r = b of each isolated pair at r = X · b (Å)."""
    from ase import Atoms
    from ase.data import atomic_numbers, covalent_radii

    from gaunt_md import GauntCalculator

    calc = GauntCalculator(model, dtype="float64", threads=1)
    curves = {}
    for a, b in PAIRS:
        bond = float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])
        energies = []
        for x in X:
            atoms = Atoms([a, b], positions=[[0, 0, 0], [x * bond, 0, 0]])
            atoms.calc = calc
            energies.append(atoms.get_potential_energy())
        e = np.array(energies) - energies[int(np.argmin(abs(X - 1)))]
        short = e[X <= 0.8 + 1e-9]
        curves[f"{a}-{b}"] = {
            "b_A": bond,
            "r_A": (X * bond).tolist(),
            "energy_eV": e.tolist(),
            "rise_half_b_eV": float(e[int(np.argmin(abs(X - 0.5)))]),
            "monotonic_below_0.8b": bool(np.all(np.diff(short) < 0)),
        }
    return curves


def report(data: dict, results: Path, docs: Path) -> None:
    """The "pair_prior" section of the docs file and a dimer PNG per system."""
    from gaunt_md.plots import pyplot, save

    lines = [
        "Generated by `python benchmarks/pair_prior.py --report` from `benchmarks/results/pair_prior.json`; protocol in the",
        "docstring of `benchmarks/pair_prior.py`. shipped: the pretrained model (fitted without the prior); shipped+zbl: its",
        "weights with the ZBL prior added, which is what a refit with the prior gives (the prior is zero on the data). Hot MD: NVT Langevin from the first",
        f"test frame, {TIMESTEP} fs, float64, one thread, two runs side by side on 2 shared cores. Intact: the bond graph of the",
        f"non-H atoms unchanged and every H bonded to a non-H atom, bonds closer than {BOND_FACTOR} covalent-radius sums (a frame",
        f"every {TRAJ_EVERY} steps). ns/day: over the wall time of the whole command, model loading included.",
        "",
    ]
    for system, entry in sorted(data.items()):
        lines += [
            f"### {system}",
            "",
            "| model | T (K) | steps done | stopped | min distance Å (step) | ≥ 0.6 Å | intact | ns/day |",
            "|" + "---|" * 8,
        ]
        for name, runs in entry.get("md", {}).items():
            for t, r in runs.items():
                lines.append(
                    f"| {name} | {t} | {r['steps_completed']}/{r['steps']} | "
                    f"{'no' if r['stopped_at_step'] is None else 'at step ' + str(r['stopped_at_step'])} | "
                    f"{r['min_distance_A']:.3f} ({r['min_distance_step']}) | "
                    f"{'yes' if r['min_distance_A'] >= MIN_DISTANCE else 'NO'} | "
                    f"{'yes' if r['intact'] else 'no, from step ' + str(r['broken_at_step'])} | {r['ns_per_day']:.3g} |"
                )
        dimers = entry.get("dimers", {})
        lines += [
            "",
            "Dimers: E(0.5 b) - E(b) in eV (b: covalent-radius sum); * where E does not rise monotonically as r falls",
            "below 0.8 b.",
            "",
            "| model | "
            + " | ".join(f"{p} (b = {c['b_A']:.2f} Å)" for p, c in next(iter(dimers.values()), {}).items())
            + " |",
            "|" + "---|" * (len(PAIRS) + 1),
        ]
        for name, curves in dimers.items():
            cells = [f"{c['rise_half_b_eV']:.3g}{'' if c['monotonic_below_0.8b'] else ' *'}" for c in curves.values()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", f"![dimer curves](../benchmarks/results/pair_prior_dimers_{system}.png)", ""]
        fig, axes = pyplot().subplots(1, len(PAIRS), figsize=(3.4 * len(PAIRS), 3.4))
        for ax, pair in zip(axes, [f"{a}-{b}" for a, b in PAIRS]):
            for name, curves in dimers.items():
                ax.plot(curves[pair]["r_A"], curves[pair]["energy_eV"], label=name)
                ax.axvline(curves[pair]["b_A"], color="0.7", lw=0.8)
            ax.set(xlabel="r (Å)", ylabel="E - E(b) (eV)", title=f"{system}: {pair}", yscale="symlog")
        axes[0].legend()
        save(fig, results / f"pair_prior_dimers_{system}.png")
    write_section(docs, "pair_prior", "ZBL pair prior: hot MD and dimers", lines)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", choices=SYSTEMS, default="acac")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[600.0, 1000.0], help="K")
    parser.add_argument(
        "--steps", type=int, help=f"MD steps of {TIMESTEP} fs [default: 20000 = 10 ps; 40 with --smoke]"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="NAME=MODEL",
        help="model files or registry names [default: shipped, shipped+zbl]",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="the models of ablation.py --smoke; outputs in benchmarks/_work/smoke"
    )
    parser.add_argument("--report", action="store_true", help="only the docs section and PNG, from the JSON")
    args = parser.parse_args()
    results, docs = places(args.smoke)
    if not args.report:
        models = dict(m.split("=", 1) for m in args.models) if args.models else default_models(args.system, args.smoke)
        missing = [m for m in models.values() if m.endswith(".pt") and not Path(m).is_file()]
        if missing:
            raise SystemExit(f"no model file {', '.join(missing)}: run benchmarks/ablation.py first or give --models")
        work = work_root(args.smoke) / "pair_prior" / args.system
        md = hot_md(args.system, models, args.temperatures, args.steps or (40 if args.smoke else 20000), work)
        dimers = {name: dimer_curves(m) for name, m in models.items()}
        merge_json(results / "pair_prior.json", {args.system: {"md": md, "dimers": dimers}}, depth=4)
    report(json.loads((results / "pair_prior.json").read_text()), results, docs)


if __name__ == "__main__":
    main()
