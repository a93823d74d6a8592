"""Molecular dynamics with ASE's integrators (``gaunt-md md``): NVE, NVT and NPT, with a CSV log,
an extxyz trajectory, a live ns/day line, a guard against blow-ups, and resume from a trajectory."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.io import write
from tqdm import tqdm

from .data import snapshot
from .gate import Uncertain, UncertaintyGate, max_force_std

ENSEMBLES = ("nve", "nvt", "npt")
THERMOSTATS = ("langevin", "nose-hoover")
BAROSTATS = ("isotropic", "anisotropic")
LOG_FIELDS = ["step", "time_ps", "epot_eV", "ekin_eV", "etot_eV", "temperature_K", "pressure_GPa", "volume_A3"]


class BlowUp(RuntimeError):
    """The simulation produced NaN/inf energies or forces, or an atom jumped too far in one step.

    ``last_written_step`` is the step of the last good frame in the trajectory (None if none was written)."""

    last_written_step: int | None = None


@dataclass
class MDSettings:
    """Units: temperature K, timestep fs, friction 1/fs (Langevin), tdamp and pdamp fs (Nosé-Hoover
    and MTK time constants), pressure GPa, max_displacement Å per step, max_force_std eV/Å (a committee's threshold, see ``gate.py``)."""

    ensemble: str = "nvt"
    thermostat: str = "langevin"
    barostat: str = "isotropic"
    temperature: float = 300.0
    timestep: float = 0.5
    steps: int = 1000
    friction: float = 0.01
    tdamp: float = 50.0
    pdamp: float = 500.0
    pressure: float = 0.0
    seed: int = 0
    traj_every: int = 10
    log_every: int = 10
    max_displacement: float = 0.5
    max_force_std: float | None = None
    stop_on_uncertain: bool = False

    def check(self, atoms: Atoms) -> None:
        for name, value, valid in (
            ("ensemble", self.ensemble, ENSEMBLES),
            ("thermostat", self.thermostat, THERMOSTATS),
            ("barostat", self.barostat, BAROSTATS),
        ):
            if value not in valid:
                raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(valid)}")
        if self.timestep <= 0 or self.steps < 0 or self.temperature < 0 or self.traj_every < 1 or self.log_every < 1:
            raise ValueError("timestep must be > 0, steps and temperature ≥ 0, traj_every and log_every ≥ 1")
        if self.ensemble == "npt" and not atoms.pbc.all():
            raise ValueError("npt needs a structure periodic in all three directions with a cell")


def integrator(atoms: Atoms, s: MDSettings, start_step: int):
    """The ASE dynamics object for the settings (Langevin noise seeded by seed and start step)."""
    dt = s.timestep * units.fs
    if s.ensemble == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, timestep=dt)
    if s.ensemble == "nvt" and s.thermostat == "langevin":
        from ase.constraints import FixCom
        from ase.md.langevin import Langevin

        if not atoms.constraints:  # ASE's recommended way to keep the centre of mass at rest
            atoms.set_constraint(FixCom())
        rng = np.random.default_rng([s.seed, start_step])
        return Langevin(
            atoms, timestep=dt, temperature_K=s.temperature, friction=s.friction / units.fs, fixcm=False, rng=rng
        )
    from ase.md import nose_hoover_chain as nhc

    if s.ensemble == "nvt":
        return nhc.NoseHooverChainNVT(atoms, timestep=dt, temperature_K=s.temperature, tdamp=s.tdamp * units.fs)
    npt = nhc.IsotropicMTKNPT if s.barostat == "isotropic" else nhc.MTKNPT
    return npt(
        atoms,
        timestep=dt,
        temperature_K=s.temperature,
        pressure_au=s.pressure * units.GPa,
        tdamp=s.tdamp * units.fs,
        pdamp=s.pdamp * units.fs,
    )


def initial_velocities(atoms: Atoms, temperature: float, seed: int) -> None:
    """Maxwell-Boltzmann velocities at ``temperature`` (K) with zero total momentum."""
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    thermalize_momenta(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)


def log_row(atoms: Atoms, step: int, timestep: float) -> dict:
    """One CSV row; with a committee also the largest per-atom force std (eV/Å)."""
    epot, ekin = atoms.get_potential_energy(), atoms.get_kinetic_energy()
    row = {
        "step": step,
        "time_ps": step * timestep / 1000,
        "epot_eV": epot,
        "ekin_eV": ekin,
        "etot_eV": epot + ekin,
        "temperature_K": atoms.get_temperature(),
        "pressure_GPa": "",
        "volume_A3": "",
    }
    if atoms.pbc.all():
        stress = atoms.get_stress(include_ideal_gas=True)
        row |= {"pressure_GPa": -stress[:3].mean() / units.GPa, "volume_A3": atoms.get_volume()}
    if (spread := max_force_std(atoms)) is not None:
        row["max_force_std_eVA"] = spread
    return row


class Guard:
    """Observer: stops the run (:class:`BlowUp`) on NaN/inf energies or forces or an atom that moved
    more than ``max_displacement`` (Å) in one step; keeps the last frame that passed (``good``)."""

    def __init__(self, run: _Run) -> None:
        self.run, self.previous, self.good = run, run.atoms.get_positions(), None

    def __call__(self) -> None:
        atoms, step = self.run.atoms, self.run.step()
        positions = atoms.get_positions()
        jump = np.linalg.norm(positions - self.previous, axis=1).max()
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        if not (np.isfinite(energy) and np.isfinite(forces).all() and np.isfinite(positions).all()):
            raise BlowUp(f"step {step}: the energy or forces are NaN/inf")
        if jump > self.run.settings.max_displacement:
            raise BlowUp(
                f"step {step}: an atom moved {jump:.2f} Å in one step (limit {self.run.settings.max_displacement} Å)"
            )
        self.previous, self.good = positions, snapshot(atoms, step=step, time_fs=step * self.run.settings.timestep)


class FrameWriter:
    """Observer: appends the guarded frame to the extxyz trajectory every ``traj_every`` steps and at the end."""

    def __init__(self, run: _Run, guard: Guard, handle) -> None:
        self.run, self.guard, self.handle = run, guard, handle
        self.written = run.start if run.start > 0 else None  # step of the last frame in the file

    def __call__(self, force: bool = False) -> None:
        if self.guard.good is None or self.written == (step := self.guard.good.info["step"]):
            return
        if force or self.run.due(step, self.run.settings.traj_every):
            write(self.handle, self.guard.good, format="extxyz")
            self.handle.flush()
            self.written = step


class Logger:
    """Observer: a CSV row every ``log_every`` steps, the progress bar, and a printed line when no bar shows."""

    def __init__(self, run: _Run, handle, echo) -> None:
        self.run, self.handle, self.echo, self.temperatures = run, handle, echo, []
        committee = max_force_std(run.atoms) is not None
        self.writer = csv.DictWriter(handle, LOG_FIELDS + ["max_force_std_eVA"] * committee)
        if handle.tell() == 0:
            self.writer.writeheader()
        n, every = run.settings.steps - run.start, run.settings.log_every
        self.bar = tqdm(total=n, unit="step", disable=None)
        self.print_every = every * max(1, round(n / every / 20))

    def __call__(self) -> None:
        run, step = self.run, self.run.step()
        if run.due(step, run.settings.log_every):
            row = log_row(run.atoms, step, run.settings.timestep)
            self.writer.writerow(row)
            self.handle.flush()
            self.temperatures.append(row["temperature_K"])
            rate = _ns_per_day(step - run.start, run.settings.timestep, time.perf_counter() - run.t0)
            self.bar.set_postfix_str(
                f"T {row['temperature_K']:.0f} K, Etot {row['etot_eV']:.4f} eV, {rate:.3g} ns/day", refresh=False
            )
            if self.bar.disable and (step % self.print_every == 0 or step == run.settings.steps):
                self.echo(
                    f"step {step}/{run.settings.steps} t {row['time_ps']:.3f} ps | Epot {row['epot_eV']:.4f} "
                    f"Etot {row['etot_eV']:.4f} eV | T {row['temperature_K']:.1f} K | {rate:.3g} ns/day"
                )
        self.bar.update(step - run.start - self.bar.n)


class _Run:
    """What the observers of one run share: the atoms, settings, dynamics and the step count."""

    def __init__(self, atoms: Atoms, settings: MDSettings, start: int) -> None:
        self.atoms, self.settings, self.start, self.t0 = atoms, settings, start, time.perf_counter()
        self.dyn = integrator(atoms, settings, start)

    def step(self) -> int:
        return self.start + self.dyn.nsteps

    def due(self, step: int, every: int) -> bool:
        """A step to record: every ``every`` steps and the last, but not the start of a resumed run
        (its trajectory and log already hold that frame)."""
        return not (step == self.start > 0) and (step % every == 0 or step == self.settings.steps)


def run_md(
    atoms: Atoms,
    settings: MDSettings,
    trajectory: Path,
    log: Path,
    start_step: int = 0,
    echo=print,
    before_writing: Callable[[], None] | None = None,
    uncertain: Path | None = None,
) -> dict:
    """Integrate ``atoms`` (calculator attached, velocities set) from ``start_step`` to
    ``settings.steps``, appending frames to ``trajectory`` (extxyz with momenta, energy, forces and
    ``info['step']``) and rows to ``log`` (CSV). Raises :class:`BlowUp` after writing the last good
    frame if energies or forces turn NaN/inf or an atom moves more than ``max_displacement``.
    Returns a summary {steps, ns_per_day, mean_temperature_K, ...}.

    The settings and the starting structure are checked, and its energy and forces computed, before
    any file is opened: bad input raises ValueError and writes nothing. ``before_writing`` is called
    then, right before the first file is opened (``gaunt-md md`` deletes the outputs it replaces there).
    One ASE observer per concern runs at every step, in order: :class:`Guard`, :class:`FrameWriter`,
    :class:`Logger` and, with ``settings.max_force_std``, the :class:`~gaunt_md.gate.UncertaintyGate`
    that appends uncertain frames to ``uncertain`` (and raises :class:`~gaunt_md.gate.Uncertain` with
    ``stop_on_uncertain``, after writing that frame to the trajectory too).
    """
    settings.check(atoms)
    atoms.get_potential_energy(), atoms.get_forces()  # the model refuses unknown elements, NaN positions, empty cells
    gate = None
    if settings.max_force_std is not None:
        gate = UncertaintyGate(atoms, settings.max_force_std, uncertain, settings.timestep, settings.stop_on_uncertain)
    if before_writing is not None:
        before_writing()
    run = _Run(atoms, settings, start_step)
    n = settings.steps - start_step
    with log.open("a", newline="") as log_handle, trajectory.open("a") as traj_handle:
        guard = Guard(run)
        frames, logger = FrameWriter(run, guard, traj_handle), Logger(run, log_handle, echo)
        observers = [guard, frames, logger] + ([gate] if gate else [])
        if gate:
            gate.step = run.step
        for observer in observers:
            run.dyn.attach(observer, interval=1)
        try:
            if n > 0:
                try:
                    run.dyn.run(n)
                except ValueError as exc:  # the calculator refuses NaN positions
                    raise BlowUp(f"step {run.step() + 1}: {exc}") from None
            else:
                for observer in observers:
                    observer()
        except (BlowUp, Uncertain) as exc:
            frames(force=True)  # keep the last good frame
            exc.last_written_step = frames.written
            raise
        finally:
            logger.bar.close()
    seconds = time.perf_counter() - run.t0
    return {
        "steps": settings.steps,
        "steps_run": n,
        "seconds": seconds,
        "ns_per_day": _ns_per_day(n, settings.timestep, seconds),
        "mean_temperature_K": float(np.mean(logger.temperatures)) if logger.temperatures else float("nan"),
        "uncertain_frames": gate.count if gate else None,
    }


def _ns_per_day(steps: int, timestep_fs: float, seconds: float) -> float:
    return steps * timestep_fs * 1e-6 / max(seconds, 1e-9) * 86400


def resume_state(trajectory: Path) -> tuple[Atoms, int]:
    """Atoms (positions, momenta, cell) and step count of the last frame of a trajectory."""
    from ase.io import read

    if not trajectory.is_file():
        raise FileNotFoundError(f"nothing to resume: trajectory {trajectory} does not exist")
    atoms = read(trajectory, index=-1)
    if "step" not in atoms.info or "momenta" not in atoms.arrays:
        raise ValueError(f"{trajectory} was not written by gaunt-md md (its last frame has no step or momenta)")
    atoms.calc = None
    return atoms, int(atoms.info["step"])
