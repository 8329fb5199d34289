"""Release bundles: build, sign (Ed25519) and verify before anything is unpacked.

A bundle is an uncompressed tar (the wheels inside are compressed already) whose first two
members are `manifest.json` and `manifest.sig` (64-byte Ed25519 signature over the manifest's
exact bytes), followed by the files the manifest lists with their size and SHA-256:

    manifest.json   {"format": 1, "version": "0.2.0", "app_wheel": "wheels/scc_appliance-...whl",
                     "compatible": {"machines": ["aarch64"], "python": "3.11",
                                    "min_installed": "0.1.0"},
                     "files": {"wheels/...whl": {"size": 123, "sha256": "..."}, ...}}
    manifest.sig
    wheels/*.whl    the app wheel and its wheelhouse for the device (aarch64, CPython 3.11)

Verification reads the manifest and its signature, checks them against the trusted public keys,
then streams every member through SHA-256 without writing it anywhere. Only a bundle that passes
all of that is extracted, and then only the listed members.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import sys
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from appliance.errors import UpdateError

FORMAT = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
APP_DISTRIBUTION = "scc-appliance"
_MAX_MANIFEST_BYTES = 1 << 20
_CHUNK = 1 << 16


class BundleRejectedError(UpdateError):
    """The bundle is not one this device may install: nothing was changed."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Compatibility:
    machines: tuple[str, ...] = ("aarch64",)
    python: str = "3.11"
    min_installed: str = "0.0.0"  # oldest release that may update straight to this one

    def problems(self, machine: str, python: str, installed: Version | None) -> list[str]:
        out = []
        if machine not in self.machines:
            out.append(f"built for {', '.join(self.machines)}, this device is {machine}")
        if python != self.python:
            out.append(f"built for Python {self.python}, this device has {python}")
        if installed is not None and installed < Version(self.min_installed):
            out.append(f"needs release {self.min_installed} or newer installed first")
        return out


@dataclass(frozen=True, slots=True)
class Manifest:
    version: str
    app_wheel: str
    files: dict[str, FileEntry]
    compatible: Compatibility

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "version": self.version,
            "app_wheel": self.app_wheel,
            "compatible": {
                "machines": list(self.compatible.machines),
                "python": self.compatible.python,
                "min_installed": self.compatible.min_installed,
            },
            "files": {
                name: {"size": e.size, "sha256": e.sha256} for name, e in sorted(self.files.items())
            },
        }
        return json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        try:
            doc = json.loads(data)
            if doc["format"] != FORMAT:
                raise BundleRejectedError(f"bundle format {doc['format']} is not supported")
            compat = doc["compatible"]
            manifest = cls(
                version=str(Version(doc["version"])),
                app_wheel=str(doc["app_wheel"]),
                files={
                    _member_name(name): FileEntry(int(e["size"]), str(e["sha256"]))
                    for name, e in doc["files"].items()
                },
                compatible=Compatibility(
                    tuple(str(m) for m in compat["machines"]),
                    str(compat["python"]),
                    str(Version(compat["min_installed"])),
                ),
            )
        except (ValueError, KeyError, TypeError, AttributeError, InvalidVersion) as exc:
            raise BundleRejectedError(f"the manifest is malformed: {exc}") from exc
        if manifest.app_wheel not in manifest.files:
            raise BundleRejectedError("the manifest's app wheel is not among its files")
        return manifest

    @property
    def parsed_version(self) -> Version:
        return Version(self.version)


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    path: Path
    manifest: Manifest


def _member_name(name: str) -> str:
    """Only plain relative paths under wheels/: no absolute paths, no `..`, no surprises."""
    path = PurePosixPath(name)
    if (
        path.is_absolute()
        or ".." in path.parts
        or len(path.parts) != 2
        or path.parts[0] != "wheels"
    ):
        raise BundleRejectedError(f"bundle member {name!r} is not a file under wheels/")
    if not path.name.endswith(".whl"):
        raise BundleRejectedError(f"bundle member {name!r} is not a wheel")
    return str(path)


# --- keys ---------------------------------------------------------------------------------------


def generate_key(private_path: Path, public_path: Path) -> None:
    """A new signing key pair; the private key file is readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    with open(private_path, "xb", opener=lambda p, flags: os.open(p, flags, 0o600)) as out:
        out.write(private_pem)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(public_pem)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise UpdateError(f"cannot load signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UpdateError(f"{path} is not an Ed25519 private key")
    return key


def load_public_keys(directory: Path) -> list[Ed25519PublicKey]:
    """Every `*.pub` (PEM) in the trusted-keys directory."""
    keys = []
    for path in sorted(directory.glob("*.pub")):
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise UpdateError(f"cannot load trusted key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise UpdateError(f"trusted key {path} is not an Ed25519 public key")
        keys.append(key)
    return keys


# --- building -----------------------------------------------------------------------------------


def _hash_file(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return FileEntry(path.stat().st_size, digest.hexdigest())


def build_bundle(
    app_wheel: Path,
    wheelhouse: Iterable[Path],
    key: Ed25519PrivateKey,
    out_dir: Path,
    compatible: Compatibility = Compatibility(),
) -> Path:
    """Write `scc-<version>.bundle` with the app wheel and its dependencies, signed."""
    try:
        name, wheel_version, _, _ = parse_wheel_filename(app_wheel.name)
    except InvalidWheelFilename as exc:
        raise UpdateError(f"{app_wheel.name} is not a wheel file name") from exc
    if name != APP_DISTRIBUTION:
        raise UpdateError(f"{app_wheel.name} is not the {APP_DISTRIBUTION} wheel")
    wheels = {f"wheels/{app_wheel.name}": app_wheel}
    for path in wheelhouse:
        if path.suffix == ".whl" and path.name != app_wheel.name:
            wheels[f"wheels/{path.name}"] = path
    manifest = Manifest(
        version=str(wheel_version),
        app_wheel=f"wheels/{app_wheel.name}",
        files={member: _hash_file(path) for member, path in wheels.items()},
        compatible=compatible,
    )
    manifest_bytes = manifest.to_bytes()
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"scc-{manifest.version}.bundle"
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, MANIFEST, manifest_bytes)
        _add_bytes(tar, SIGNATURE, key.sign(manifest_bytes))
        for member, path in sorted(wheels.items()):
            info = tarfile.TarInfo(member)
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as stream:
                tar.addfile(info, stream)
    return out


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# --- verifying ----------------------------------------------------------------------------------


def _read_member(tar: tarfile.TarFile, expected: str, limit: int) -> bytes:
    member = tar.next()
    if member is None or member.name != expected or not member.isfile() or member.size > limit:
        raise BundleRejectedError(f"the bundle does not start with a valid {expected}")
    stream = tar.extractfile(member)
    assert stream is not None  # a regular file always has a stream
    return stream.read()


def _hash_stream(stream: IO[bytes]) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return FileEntry(size, digest.hexdigest())


def device_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def verify_bundle(
    path: Path,
    trusted_keys: Sequence[Ed25519PublicKey],
    installed: Version | None,
    machine: str | None = None,
    python: str | None = None,
) -> VerifiedBundle:
    """Check signature, compatibility, version order and every file's hash; extract nothing."""
    if not trusted_keys:
        raise BundleRejectedError("no trusted update key is installed on this device")
    try:
        with tarfile.open(path, "r:") as tar:
            manifest_bytes = _read_member(tar, MANIFEST, _MAX_MANIFEST_BYTES)
            signature = _read_member(tar, SIGNATURE, 64)
            if not _signed_by_any(manifest_bytes, signature, trusted_keys):
                raise BundleRejectedError("the bundle's signature does not match a trusted key")
            manifest = Manifest.from_bytes(manifest_bytes)
            problems = manifest.compatible.problems(
                machine or platform.machine(), python or device_python(), installed
            )
            if problems:
                raise BundleRejectedError("incompatible bundle: " + "; ".join(problems))
            if installed is not None and manifest.parsed_version <= installed:
                raise BundleRejectedError(
                    f"bundle {manifest.version} is not newer than installed {installed}"
                )
            seen: dict[str, FileEntry] = {}
            while (member := tar.next()) is not None:  # iterating would start over
                name = _member_name(member.name)
                if not member.isfile() or name in seen or name not in manifest.files:
                    raise BundleRejectedError(f"unexpected bundle member {member.name!r}")
                stream = tar.extractfile(member)
                assert stream is not None
                seen[name] = _hash_stream(stream)
                if seen[name] != manifest.files[name]:
                    raise BundleRejectedError(f"{name} does not match the manifest (tampered?)")
    except (tarfile.TarError, EOFError) as exc:
        raise BundleRejectedError(f"the bundle is damaged or truncated: {exc}") from exc
    except OSError as exc:
        raise UpdateError(f"cannot read the bundle {path}: {exc}") from exc
    missing = sorted(set(manifest.files) - set(seen))
    if missing:
        raise BundleRejectedError(f"the bundle is incomplete: {', '.join(missing)} missing")
    return VerifiedBundle(path, manifest)


def _signed_by_any(data: bytes, signature: bytes, keys: Sequence[Ed25519PublicKey]) -> bool:
    for key in keys:
        try:
            key.verify(signature, data)
        except InvalidSignature:
            continue
        return True
    return False


def extract_verified(bundle: VerifiedBundle, destination: Path) -> list[Path]:
    """Write the bundle's wheels under `destination`, checking each hash again as it lands."""
    written = []
    with tarfile.open(bundle.path, "r:") as tar:
        for member in tar:
            if member.name in (MANIFEST, SIGNATURE):
                continue
            expected = bundle.manifest.files[_member_name(member.name)]
            target = destination / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            stream = tar.extractfile(member)
            assert stream is not None
            digest = hashlib.sha256()
            with target.open("wb") as out:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected.sha256:
                raise BundleRejectedError(f"{member.name} changed while it was unpacked")
            written.append(target)
    return written
