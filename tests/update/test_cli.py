"""`scc bundle keygen | build | verify` end to end, as a release manager runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import main
from tests.update.conftest import make_wheel


def test_keygen_build_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    assert main(["bundle", "keygen", "--out", str(keys)]) == 0
    assert (keys / "release.key").stat().st_mode & 0o777 == 0o600
    wheel = make_wheel(tmp_path / "wheelhouse", "0.3.0")
    make_wheel(tmp_path / "other", "0.0.1")  # not in the wheelhouse: not in the bundle
    out = tmp_path / "dist"
    argv = ["bundle", "build", "--wheel", str(wheel), "--wheelhouse", str(wheel.parent)]
    assert main([*argv, "--key", str(keys / "release.key"), "--out", str(out)]) == 0
    index = json.loads((out / "index.json").read_text())
    assert index["version"] == "0.3.0"
    assert index["bundle"] == "scc-0.3.0.bundle"
    assert index["size"] == (out / "scc-0.3.0.bundle").stat().st_size

    verify = ["bundle", "verify", str(out / "scc-0.3.0.bundle"), "--keys", str(keys)]
    assert main([*verify, "--installed", "0.2.0"]) == 0
    assert "valid, version 0.3.0, 1 wheels" in capsys.readouterr().out
    assert main([*verify, "--installed", "0.3.0"]) == 2
    assert "not newer than installed 0.3.0" in capsys.readouterr().err


def test_build_refuses_a_wheel_that_is_not_the_app(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    main(["bundle", "keygen", "--out", str(keys)])
    other = tmp_path / "requests-2.0-py3-none-any.whl"
    other.write_bytes(b"")
    argv = ["bundle", "build", "--wheel", str(other), "--wheelhouse", str(tmp_path)]
    assert main([*argv, "--key", str(keys / "release.key"), "--out", str(tmp_path / "o")]) == 2
