"""`scc bundle`: make signing keys, build and sign release bundles, check a bundle.

    scc bundle keygen --out keys/               keys/release.key (keep secret), keys/release.pub
    scc bundle build --wheel dist/scc_appliance-0.2.0-py3-none-any.whl \\
                     --wheelhouse image/work/wheelhouse --key keys/release.key --out dist/
    scc bundle verify dist/scc-0.2.0.bundle --keys keys/ [--installed 0.1.0]

`build` also writes `index.json` beside the bundle: publish both where settings.update.url
points (the index's URL).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from packaging.version import Version

from appliance.update.bundle import (
    Compatibility,
    build_bundle,
    generate_key,
    load_private_key,
    load_public_keys,
    verify_bundle,
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "bundle", help="build, sign and verify firmware update bundles"
    )
    actions = parser.add_subparsers(dest="bundle_command", required=True, metavar="ACTION")

    keygen = actions.add_parser("keygen", help="create an Ed25519 signing key pair")
    keygen.add_argument("--out", type=Path, required=True, help="directory for the key files")
    keygen.add_argument("--name", default="release", help="file name stem (default release)")
    keygen.set_defaults(handler=run_keygen)

    build = actions.add_parser("build", help="build and sign a bundle plus its index.json")
    build.add_argument("--wheel", type=Path, required=True, help="the scc-appliance wheel")
    build.add_argument(
        "--wheelhouse", type=Path, required=True, help="directory of the device's wheels"
    )
    build.add_argument("--key", type=Path, required=True, help="Ed25519 private key (PEM)")
    build.add_argument("--out", type=Path, required=True, help="output directory")
    build.add_argument("--machine", action="append", help="device machine (default aarch64)")
    build.add_argument("--python", default="3.11", help="device Python (default 3.11)")
    build.add_argument(
        "--min-installed", default="0.0.0", help="oldest release that may update to this one"
    )
    build.set_defaults(handler=run_build)

    verify = actions.add_parser("verify", help="check a bundle as a device would")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--keys", type=Path, required=True, help="directory of trusted *.pub")
    verify.add_argument("--installed", default=None, help="version installed on the device")
    verify.add_argument("--machine", default="aarch64")
    verify.add_argument("--python", default="3.11")
    verify.set_defaults(handler=run_verify)


def run_keygen(args: argparse.Namespace) -> int:
    private, public = args.out / f"{args.name}.key", args.out / f"{args.name}.pub"
    generate_key(private, public)
    print(f"private key {private} (keep it off the devices), public key {public}")
    return 0


def run_build(args: argparse.Namespace) -> int:
    compatible = Compatibility(
        machines=tuple(args.machine or ["aarch64"]),
        python=args.python,
        min_installed=str(Version(args.min_installed)),
    )
    bundle = build_bundle(
        args.wheel,
        sorted(args.wheelhouse.glob("*.whl")),
        load_private_key(args.key),
        args.out,
        compatible,
    )
    data = bundle.read_bytes()
    index = {
        "version": bundle.stem.removeprefix("scc-"),
        "bundle": bundle.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (args.out / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    print(f"{bundle} ({len(data)} bytes), index {args.out / 'index.json'}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    installed = Version(args.installed) if args.installed else None
    verified = verify_bundle(
        args.bundle, load_public_keys(args.keys), installed, args.machine, args.python
    )
    manifest = verified.manifest
    print(f"{args.bundle}: valid, version {manifest.version}, {len(manifest.files)} wheels")
    return 0
