"""The pretrained-model hub: registry, shipped files, cache, downloads from a local HTTP server, CLI."""

import functools
import hashlib
import json
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from gaunt_md import GauntCalculator, GauntForceField, hub
from gaunt_md.cli import main


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    GauntForceField(elements=["H", "O"], channels=8, lmax=1, radial_groups=2, r_max=3.0).save(path)
    return path


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serves tmp_path/served on 127.0.0.1; ``requests`` counts the GET requests it answered."""
    served = tmp_path / "served"
    served.mkdir()
    requests = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served, requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def hubdir(tmp_path, monkeypatch, model_file, server):
    """A registry in tmp_path/models (one shipped model), a cache in tmp_path/cache and served models."""
    url, served, requests = server
    models, cache = tmp_path / "models", tmp_path / "cache"
    models.mkdir()
    monkeypatch.setenv("GAUNT_MD_CACHE", str(cache))
    monkeypatch.delenv("GAUNT_MD_REGISTRY", raising=False)
    data = model_file.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (models / "shipped.pt").write_bytes(data)
    for name in ("remote-1.0.pt", "remote-2.0.pt", "bad.pt"):
        (served / name).write_bytes(data)
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    def entry(name, version, file, url, sha256=sha):
        return dict(
            name=name,
            version=version,
            file=file,
            size=len(data),
            sha256=sha256,
            url=url,
            elements=["H", "O"],
            r_max=3.0,
            metrics={"test_file": "t.xyz", "energy_rmse_meV_per_atom": 1.5, "forces_rmse_meV_per_A": 42.0},
            licence="MIT",
            description="tiny test model",
        )

    entries = [
        entry("shipped", "1.0", "shipped.pt", None),
        entry("remote", "1.0", "remote-1.0.pt", f"{url}/remote-1.0.pt"),
        entry("remote", "2.0", "remote-2.0.pt", f"{url}/remote-2.0.pt"),
        entry("badsum", "1.0", "bad.pt", f"{url}/bad.pt", sha256="0" * 64),
        entry("gone", "1.0", "gone.pt", f"{url}/gone.pt"),
        entry("down", "1.0", "down.pt", f"http://127.0.0.1:{closed}/down.pt"),
        entry("nourl", "1.0", "nourl.pt", None),
    ]
    registry = models / "registry.json"
    registry.write_text(json.dumps({"format": "gaunt-md-registry", "version": 1, "models": entries}))
    return registry, cache, requests


def test_shipped_registry_is_valid():
    assert isinstance(hub.read_registry(hub.DEFAULT_REGISTRY), list)


def test_load_existing_path(model_file, tmp_path):
    assert isinstance(hub.load_model(model_file, registry=tmp_path / "absent.json"), GauntForceField)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        hub.load_model(tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match="model file .*nope.pt does not exist"):
        hub.load_model("nope.pt")


def test_load_shipped_by_name(hubdir):
    registry, cache, requests = hubdir
    assert hub.model_path("shipped", registry) == registry.parent / "shipped.pt"
    assert hub.load_model("shipped", registry).config.elements == [1, 8]
    assert requests == [] and not cache.exists()


def test_download_then_cache(hubdir):
    registry, cache, requests = hubdir
    assert hub.model_path("remote", registry) == cache / "remote-2.0.pt"  # highest version by default
    assert requests == ["/remote-2.0.pt"]
    assert isinstance(hub.load_model("remote", registry), GauntForceField)
    assert requests == ["/remote-2.0.pt"]  # the second time it came from the cache


def test_version_pinning(hubdir):
    registry, cache, requests = hubdir
    assert hub.download("remote@1.0", registry) == cache / "remote-1.0.pt"
    assert requests == ["/remote-1.0.pt"]
    with pytest.raises(ValueError, match=r"no version '3\.0' \(available: 1\.0, 2\.0\)"):
        hub.load_model("remote@3.0", registry)


def test_checksum_mismatch_after_download(hubdir):
    registry, cache, _ = hubdir
    with pytest.raises(ValueError, match="does not match the sha256.*deleted and not loaded"):
        hub.load_model("badsum", registry)
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("name, reason", [("gone", "HTTP 404"), ("down", "could not connect")])
def test_failed_download(hubdir, name, reason):
    registry, cache, _ = hubdir
    with pytest.raises(FileNotFoundError) as info:
        hub.load_model(name, registry)
    message = str(info.value)
    assert (
        f"/{name}.pt" in message and reason in message and str(cache / f"{name}.pt") in message and "--model" in message
    )
    assert "\n" not in message


def test_no_url_and_no_file(hubdir):
    registry, cache, _ = hubdir
    with pytest.raises(FileNotFoundError, match=r"nourl@1\.0 .*no download URL") as info:
        hub.load_model("nourl", registry)
    assert str(registry.parent / "nourl.pt") in str(info.value) and str(cache / "nourl.pt") in str(info.value)


def test_unknown_name_lists_known(hubdir):
    registry, _, _ = hubdir
    with pytest.raises(
        ValueError, match="unknown model 'nosuch'.*known models: badsum, down, gone, nourl, remote, shipped"
    ):
        hub.load_model("nosuch", registry)


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "not valid JSON"),
        ('{"models": []}', "not a gaunt-md registry"),
        ('{"format": "gaunt-md-registry", "version": 1, "models": [{"name": "x"}]}', "entry 1 lacks version"),
    ],
)
def test_corrupt_registry(tmp_path, text, match):
    registry = tmp_path / "registry.json"
    registry.write_text(text)
    with pytest.raises(ValueError, match=match):
        hub.load_model("anything", registry)


def test_tampered_local_file(hubdir):
    registry, _, _ = hubdir
    hub.download("remote@1.0", registry)
    (registry.parent / "shipped.pt").write_bytes(b"tampered")
    assert dict(hub.verify(registry)) == {
        "shipped@1.0": "mismatch",
        "remote@1.0": "ok",
        "remote@2.0": "missing",
        "badsum@1.0": "missing",
        "gone@1.0": "missing",
        "down@1.0": "missing",
        "nourl@1.0": "missing",
    }
    with pytest.raises(ValueError, match="does not match the registry entry shipped@1.0"):
        hub.load_model("shipped", registry)


def test_list_and_info(hubdir):
    registry, cache, _ = hubdir
    listed = {(m["name"], m["version"]): m for m in hub.list_models(registry)}
    assert listed["shipped", "1.0"]["local"] and listed["shipped", "1.0"]["path"] == str(registry.parent / "shipped.pt")
    assert not listed["remote", "2.0"]["local"] and listed["remote", "2.0"]["path"] is None
    assert hub.model_info("remote", registry)["version"] == "2.0"


def test_cli(hubdir):
    registry, cache, requests = hubdir
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["models", "--registry", str(registry), *args])

    out = run("list")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0].split() == ["name", "version", "elements", "MB", "test", "RMSE", "local"]
    assert any(
        line.split()[:2] == ["shipped", "1.0"] and "E 1.5 meV/atom" in line and line.endswith("yes")
        for line in out.output.splitlines()
    )
    out = run("info", "remote@1.0")
    assert out.exit_code == 0 and "version: 1.0" in out.output and "local: no" in out.output
    out = run("download", "remote")
    assert out.exit_code == 0 and f"downloaded remote to {cache / 'remote-2.0.pt'}" in out.output
    out = run("download", "remote")
    assert out.exit_code == 0 and "already local" in out.output and len(requests) == 1
    assert run("verify").exit_code == 0
    (cache / "remote-2.0.pt").write_bytes(b"tampered")
    out = run("verify")
    assert (
        out.exit_code == 1
        and "remote@2.0: mismatch" in out.output
        and "Error: sha256 mismatch for remote@2.0" in out.output
    )
    for args in (("info", "nosuch"), ("download", "gone")):
        out = run(*args)
        assert out.exit_code == 1 and out.output.startswith("Error: ") and out.output.count("\n") == 1, out.output


def test_calculator_resolves_names(hubdir, monkeypatch):
    registry, _, _ = hubdir
    monkeypatch.setenv("GAUNT_MD_REGISTRY", str(registry))
    calc = GauntCalculator("shipped", device="cpu", dtype="float64")
    assert calc.model.config.r_max == 3.0


def test_the_wheel_carries_the_models(tmp_path):
    """A non-editable install finds the pretrained models: the wheel holds ``gaunt_md/models`` with the
    registry and every weights file it lists (built offline, from a copy of the tree)."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("_work", "__pycache__")
    shutil.copytree(root / "gaunt_md", src / "gaunt_md", ignore=skip)
    shutil.copytree(root / "models", src / "models", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(src),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
    )
    names = set(zipfile.ZipFile(next((tmp_path / "dist").glob("gaunt_md-*.whl"))).namelist())
    assert {"gaunt_md/models/registry.json", "gaunt_md/so3/_grid.py", "gaunt_md/cli/__init__.py"} <= names
    for entry in json.loads((root / "models" / "registry.json").read_text())["models"]:
        assert f"gaunt_md/models/{entry['file']}" in names and f"gaunt_md/models/{entry['name']}.md" in names
