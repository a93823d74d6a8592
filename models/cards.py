"""Model cards: ``models/NAME.md`` from ``NAME.json`` (test metrics, training, acceptance) and the registry."""

from __future__ import annotations

import json

from catalogue import HERE, MODELS, WORK, version_of


def _planned(run: dict) -> str:
    planned = run.get("steps_planned", run["steps"])
    return "" if run["steps"] >= planned else f" (stopped at the session's end; {planned} planned)"


def _error_table(groups: dict[str, dict]) -> list[str]:
    """Markdown rows of test errors: one row, or one per group (all, then each config_type); stress
    columns if any group has stress."""
    stress = any("stress_rmse" in g for g in groups.values())
    named = len(groups) > 1
    cols = [
        "frames",
        "E RMSE (meV/atom)",
        "E MAE (meV/atom)",
        "E RMSE (meV/structure)",
        "F RMSE (meV/Å)",
        "F MAE (meV/Å)",
    ]
    cols = ["group"] * named + cols + ["S RMSE (GPa)", "S MAE (GPa)"] * stress
    rows = ["| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    for name, g in groups.items():
        cells = [name] * named + [str(g["frames"])]
        cells += [f"{g['energy_rmse']:.3f}", f"{g['energy_mae']:.3f}", f"{g['energy_total_rmse']:.2f}"]
        cells += [f"{g['forces_rmse']:.2f}", f"{g['forces_mae']:.2f}"]
        if stress:
            cells += [f"{g['stress_rmse']:.3f}", f"{g['stress_mae']:.3f}"] if "stress_rmse" in g else ["-", "-"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _published(m: dict, mt: dict) -> list[str]:
    """For a model with published test MAEs (``published_mae``: {method: (meV/atom, eV/Å)}), the comparison."""
    if "published_mae" not in m:
        return []
    rows = [f"| {k} | {e:.2f} | {f:.3f} |" for k, (e, f) in m["published_mae"].items()]
    return [
        "Published test MAEs on the same split (Zuo et al. 2020):",
        "",
        "| model | E MAE (meV/atom) | F MAE (eV/Å) |",
        "|---|---|---|",
        *rows,
        f"| this model | {mt['energy_mae']:.2f} | {mt['forces_mae'] / 1e3:.3f} |",
        "",
    ]


def _data_limited(model) -> str:
    """The card's words for the pairs whose prior ends short of 0.75 b, at the training data's closest approach:
    where the model's switch ends before that of the same prior without ``closest_pairs``."""
    from ase.data import chemical_symbols

    from gaunt_md.nn import ZBLRepulsion

    zs = model.config.elements
    plain = ZBLRepulsion(zs, model.config.r_max).r_off
    ends = model.pair_repulsion.r_off.double().cpu()
    closer = [
        f"{chemical_symbols[zs[a]]}-{chemical_symbols[zs[b]]} at {ends[a, b]:.2f} Å"
        for a in range(len(zs))
        for b in range(a, len(zs))
        if ends[a, b] < plain[a, b]
    ]
    if not closer:
        return "."
    return f", its switch ending 1% short of the training data's closest pairs where those come closer: {', '.join(closer)}."


def card(name: str) -> None:
    """models/NAME.md from NAME.json (test metrics, training, acceptance) and the registry entry."""
    from gaunt_md import GauntForceField

    m, info = MODELS[name], json.loads((HERE / f"{name}.json").read_text())
    entry = next(
        e
        for e in json.loads((HERE / "registry.json").read_text())["models"]
        if (e["name"], e["version"]) == (name, version_of(name))
    )
    model = GauntForceField.load(HERE / entry["file"])
    c, t, mt = model.config, info["training"], info["test_metrics"]
    n_params = sum(p.numel() for p in model.parameters())
    lines = [
        f"# {name} {version_of(name)}",
        "",
        f"A Gaunt tensor product force field for {m['what']}.",
        "",
        "```python",
        "from gaunt_md import GauntCalculator",
        "",
        f'atoms.calc = GauntCalculator("{name}")',
        "```",
        "",
        "## Model",
        "",
        f"- `GauntForceField(elements={entry['elements']}, r_max={c.r_max}, channels={c.channels}, lmax={c.lmax}, "
        f"hidden_lmax={c.hidden_lmax}, correlation={c.correlation}, num_layers={c.num_layers})`, {n_params:,} parameters, "
        f"file {entry['file']} ({entry['size'] / 1e6:.1f} MB, sha256 `{entry['sha256'][:16]}…`).",
        f"- Elements {', '.join(entry['elements'])}; cutoff {c.r_max} Å; E0s (eV): "
        + ", ".join(f"{z}: {e:.4f}" for z, e in sorted(c.e0s.items()))
        + f"; average neighbours {c.avg_num_neighbors:.1f}.",
        "- Pair prior: "
        + (
            "ZBL screened nuclear repulsion below 0.5-0.75 covalent-radius sums (`pair_repulsion='zbl'`)"
            + _data_limited(model)
            if getattr(c, "pair_repulsion", None) == "zbl"
            else "none (fitted before gaunt-md had one; `gaunt-md fit` now adds a ZBL prior by default)."
        ),
        *(
            [
                f"- Fine-tuned from {c.parent['model']} (version {c.parent['version']}, sha256 `{c.parent['sha256'][:16]}…`)."
            ]
            if getattr(c, "parent", None)
            else []
        ),
        "- Units: energies eV, forces eV/Å, stress eV/Å^3 (ASE's).",
        "",
        "## Training",
        "",
        f"- Data: `../shared/data/{m['train']}` ({m['what']}); "
        + (
            f"every frame trained on; its {t['config']['valid_fraction']:.0%} validation split (seed {t['config']['seed']}) only picked the "
            "checkpoint, the settings having been chosen on that split with it held out (docs/accuracy.md)"
            if m.get("valid_in_training")
            else m["independent_valid"]
            if m.get("independent_valid")
            else f"{t['config']['valid_fraction']:.0%} held out for validation (seed {t['config']['seed']})"
        )
        + f". Cite: {m['citation']}. Data licence: {m['licence']}.",
        f"- `gaunt-md fit` settings (batch {t['config']['batch_size']}, lr {t['config']['lr']}, AMSGrad, EMA {t['config']['ema_decay']}, "
        f"energy/force weights {t['config']['energy_weight']}/{t['config']['forces_weight']}"
        + (f", stress weight {t['config']['stress_weight']} GPa^-2" if t["config"].get("stress_key") else "")
        + (f", stress offset {t['config']['stress_offset']} GPa" if t["config"].get("stress_offset") else "")
        + ", stage two energy weight "
        f"{t['config']['stage_two_energy_weight']}), {t['config']['dtype']}, time budget {t['config']['max_minutes']} min: "
        f"{t['epochs']} epochs in {t['minutes']:.0f} min on {t['hardware']}, shared with other training runs.",
        *([f"- {m['notes']}"] if "notes" in m else []),
        *(
            [
                f"- Energy shift refitted on the training frames{'' if m.get('valid_in_training') or m.get('independent_valid') else ' (validation split excluded)'}: "
                f"{t['shift_refit_meV_per_atom']:+.2f} meV/atom."
            ]
            if "shift_refit_meV_per_atom" in t
            else []
        ),
        f"- Reproduce: `python models/build.py fit {name} --minutes {t['config']['max_minutes']:g}` then `package`, `accept`, `card` "
        "(the run's full settings are `training.config` in "
        + f"`models/{name}.json`; "
        + (
            ""
            if "stage_two_lr" in t["config"]
            else "this model predates the `stage_two_lr` setting, so its stage two kept the plateau-scheduled learning rate; "
        )
        + "a time budget makes the epoch count depend on the machine's load).",
        "",
        (
            f"## Test errors (`gaunt-md eval models/{entry['file']} ../shared/data/{m['test']}`)"
            if m["test"]
            else f"## Validation errors (`package` writes the held-out frames to `models/_work/{name}_validation.xyz` and runs `gaunt-md eval` on them)"
        ),
        "",
        f"Test data: {info['test_file']}.",
        "",
        *(
            [*_error_table({"all": mt, **info["test_metrics_by_group"]}), "", "By config_type:", ""]
            if "test_metrics_by_group" in info
            else []
        ),
        *_error_table({"all": mt, **info.get("test_metrics_by_config_type", {})}),
        "",
        *_published(m, mt),
        f"![parity plot]({name}_parity.png)",
        "",
    ]
    parts = {p.stem: json.loads(p.read_text()) for p in sorted((WORK / f"{name}_accept").glob("*.json"))}
    if parts:
        info["acceptance"] = parts
        (HERE / f"{name}.json").write_text(json.dumps(info, indent=2))
    acc = info.get("acceptance")
    if acc and m.get("crystal"):
        from materials import card_lines

        lines += card_lines(acc)
    elif acc:
        nve = acc["nve"]
        lines += [
            "## Acceptance runs",
            "",
            f"- NVE, {nve['steps']} steps of {nve['timestep_fs']} fs{_planned(nve)} in {nve['dtype']} from 300 K velocities: total-energy drift "
            f"{nve['drift_meV_per_atom_per_ps']:+.4f} meV/atom/ps, fluctuation (std) {nve['etot_std_meV_per_atom']:.4f} meV/atom, "
            f"mean T {nve['mean_temperature_K']:.0f} K.",
            f"- Relaxation of a rattled frame (0.05 Å) to fmax {acc['relax']['fmax_eV_per_A']} eV/Å: exit code "
            f"{acc['relax']['exit_code']}: " + "; ".join(acc["relax"]["summary"]) + ".",
        ]
        if "nvt" in acc:
            rdf = acc["nvt"]
            lines += [
                f"- NVT at 300 K (Langevin), {rdf['steps']} steps of 0.5 fs{_planned(rdf)}: O-O radial distribution function over the last {rdf['frames']} frames, first "
                f"peak at {rdf['first_peak_A']:.2f} Å (height {rdf['first_peak_height']:.2f}); mean T {rdf['mean_temperature_K']:.0f} K"
                + (
                    f"; mean pressure {rdf['mean_pressure_GPa']:+.2f} GPa at the training density"
                    if "mean_pressure_GPa" in rdf
                    else ""
                )
                + ".",
                "",
                f"![O-O RDF]({rdf['png']})",
                "",
            ]
        if "npt" in acc:
            npt = acc["npt"]
            lines += [
                f"- NPT (MTK, isotropic) at 300 K and 1 bar, {npt['steps']} steps of {npt['timestep_fs']} fs{_planned(npt)}: density "
                f"{npt['density_start']:.3f} → {npt['density_end']:.3f} g/cm^3, mean over the second half "
                f"{npt['density_g_cm3_second_half']:.3f} g/cm^3."
            ]
        lines.append("")
    lines += [
        "## Intended use and limits",
        "",
        f"- Made for {m['subject']} near the training conditions ({m['conditions']}). It knows only the elements above and only the configurations its data sample: no bond breaking, no other "
        "molecules, no other phases, no long-range electrostatics beyond the cutoff.",
        "- Trained in one session on 2 CPU cores, far shorter than published MACE fits"
        + (
            f", and less accurate: published MACE reaches a force {m['published'][0].upper()} of {m['published'][1]} meV/Å on this "
            f"test file, this model {mt['forces_' + m['published'][0]]:.2f} meV/Å"
            if "published" in m
            else ""
        )
        + ". Check its errors above, energy conservation and structure for your own use.",
        *([f"- {m['limits']}"] if "limits" in m else []),
    ]
    (HERE / f"{name}.md").write_text("\n".join(lines) + "\n")
    print((HERE / f"{name}.md").read_text())
