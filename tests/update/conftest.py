"""Update fixtures: a temporary device root, keys, real wheels, an update server on localhost."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.update.bundle import Compatibility, build_bundle, generate_key, load_private_key
from appliance.update.install import Installer, VenvBuilder
from appliance.update.releases import Layout, mark_complete, switch_to

MACHINE = "aarch64"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
COMPAT = Compatibility(machines=(MACHINE,), python=PYTHON, min_installed="0.1.0")


def make_wheel(directory: Path, version: str, exit_code: int = 0) -> Path:
    """A real, minimal scc-appliance wheel whose `scc` script prints its version."""
    dist = f"scc_appliance-{version}"
    files = {
        "scc_release_probe/__init__.py": (
            "import sys\n"
            f"VERSION = {version!r}\n"
            f"def main() -> int:\n    print('scc', VERSION)\n    return {exit_code}\n"
        ),
        f"{dist}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: scc-appliance\nVersion: {version}\n"
        ),
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{dist}.dist-info/entry_points.txt": ("[console_scripts]\nscc = scc_release_probe:main\n"),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def install_initial_release(layout: Layout, version: str = "0.1.0") -> None:
    """What the image ships: one complete release, current pointing at it."""
    release = layout.release(version)
    (release / "venv/bin").mkdir(parents=True)
    (release / "manifest.json").write_text('{"version": "0.1.0"}\n')
    mark_complete(release)
    switch_to(layout, version)
    layout.state.mkdir(parents=True, exist_ok=True)


def snapshot(root: Path) -> dict[str, str]:
    """Every path under root with its content hash or link target (downloads left out)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + str(path.readlink())
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@dataclass
class Keys:
    private_path: Path
    public_dir: Path

    @property
    def private(self) -> Ed25519PrivateKey:
        return load_private_key(self.private_path)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    base = tmp_path_factory.mktemp("keys")
    generate_key(base / "release.key", base / "trusted/release.pub")
    return Keys(base / "release.key", base / "trusted")


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def layout(tmp_path: Path, keys: Keys) -> Layout:
    layout = Layout(tmp_path / "root")
    install_initial_release(layout)
    layout.trusted_keys.mkdir(parents=True)
    for pub in keys.public_dir.glob("*.pub"):
        (layout.trusted_keys / pub.name).write_bytes(pub.read_bytes())
    return layout


def make_bundle(out_dir: Path, version: str, key: Ed25519PrivateKey, exit_code: int = 0) -> Path:
    wheels = out_dir / f"wheels-{version}"
    app = make_wheel(wheels, version, exit_code)
    return build_bundle(app, [app], key, out_dir, COMPAT)


def venv_installer(layout: Layout) -> Installer:
    return Installer(layout, VenvBuilder(Path(sys.executable), Path(sys.executable)))


def rewrite_bundle(bundle: Path, change: dict[str, bytes]) -> None:
    """Replace members' bytes, keeping everything else (for tampering tests)."""
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(bundle, "r:") as tar:
        for member in tar:
            stream = tar.extractfile(member)
            assert stream is not None
            members.append((member, change.get(member.name, stream.read())))
    with tarfile.open(bundle, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, data in members:
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


@dataclass
class UpdateServer:
    """Serves an index and bundles from a directory on 127.0.0.1 (an ephemeral port)."""

    directory: Path
    url: str = ""
    truncate_to: int | None = None  # send fewer bytes than Content-Length promises
    requests: list[str] = field(default_factory=list)

    def publish(self, bundle: Path, index_version: str | None = None) -> str:
        data = bundle.read_bytes()
        index = {
            "version": index_version or bundle.stem.removeprefix("scc-"),
            "bundle": bundle.name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if bundle.parent != self.directory:
            (self.directory / bundle.name).write_bytes(data)
        (self.directory / "index.json").write_text(json.dumps(index))
        return self.url + "index.json"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        path = self.directory / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        data = path.read_bytes()
        response = web.StreamResponse()
        response.content_length = len(data)
        await response.prepare(request)
        if self.truncate_to is not None and path.suffix == ".bundle":
            await response.write(data[: self.truncate_to])
            assert request.transport is not None
            request.transport.close()  # the connection drops mid-download
            return response
        await response.write(data)
        await response.write_eof()
        return response


@pytest.fixture
async def update_server(tmp_path: Path) -> AsyncIterator[UpdateServer]:
    directory = tmp_path / "www"
    directory.mkdir()
    server = UpdateServer(directory)
    app = web.Application()
    app.router.add_get("/updates/{name}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/updates/"
    yield server
    await runner.cleanup()
