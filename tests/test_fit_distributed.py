"""gaunt-md fit under torchrun: two CPU processes (gloo) train one model."""

import pytest

from helpers import fit_args, log

pytestmark = pytest.mark.data  # reads ../shared/data


def _run_torchrun(command: list[str], timeout: float) -> tuple[int | None, str, str]:
    """(return code or None if it hung, stdout, stderr); a hung run gets SIGUSR1 first, so every
    gaunt-md worker prints its stack (``faulthandler``) into stderr before the group is killed."""
    import os
    import signal
    import subprocess

    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        import psutil

        try:
            workers = psutil.Process(proc.pid).children(recursive=True)  # torchrun starts each in its own session
        except psutil.NoSuchProcess:
            workers = []
        for child in workers:
            child.send_signal(signal.SIGUSR1)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            for child in workers:
                try:
                    child.kill()
                except psutil.NoSuchProcess:
                    pass
            out, err = proc.communicate(timeout=30)
        return None, out, err


def test_two_gloo_processes_under_torchrun(acac_files, tmp_path):
    """Two CPU processes (gloo) train one model; rank 0 alone writes and prints.

    CI twice saw torchrun not exit after a finished run: a worker deadlocked freeing the DDP reducer
    (fixed in ``fit``, see its comment). Should a hang after a finished run recur, it is retried once
    and the workers' stacks are shown as a warning; a second hang, or any failure, fails."""
    import sys
    import warnings

    from gaunt_md import GauntForceField

    for attempt in range(2):
        out = tmp_path / f"ddp{attempt}"
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "gaunt_md.cli",
            *map(str, fit_args(acac_files, out, 2)),
        ]
        code, stdout, stderr = _run_torchrun(command, timeout=240)
        if code is not None:
            break
        assert attempt == 0 and (out / "metrics.json").is_file(), f"torchrun hung:\n{stdout[-2000:]}\n{stderr[-6000:]}"
        warnings.warn(f"torchrun did not exit after training finished; worker stacks:\n{stderr[-6000:]}", stacklevel=1)
    assert code == 0, stderr[-3000:]
    assert "training on 20 frames (2 processes)" in stdout
    assert stdout.count("epoch 2/2") == 1  # rank 0 alone prints
    assert len(log(out)) == 2
    assert GauntForceField.load(out / "model.pt").config.channels == 8
