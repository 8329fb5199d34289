"""`scc measure --p1 SOURCE` prints readings from a P1 source, like the CT path."""

from __future__ import annotations

import io
import json
import socket
import threading
from pathlib import Path

import pytest

from appliance.cli import build_parser, main
from tests.p1.helpers import belgian_fluvius, dutch_dsmr5


def serve_once(payload: bytes) -> tuple[int, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(payload)
                conn.recv(1)  # hold the line open until the client leaves

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def dirs(state_dir: Path) -> list[str]:
    return ["--state-dir", str(state_dir)]


def run_measure(argv: list[str]) -> str:
    args = build_parser().parse_args(argv)
    out = io.StringIO()
    assert args.handler(args, out=out) == 0
    return out.getvalue()


def test_measure_p1_over_tcp_json(state_dir: Path) -> None:
    payload = dutch_dsmr5((5, 3, 0), (1.155, 0.0, 0.0), (0.0, 0.696, 0.0))
    payload += belgian_fluvius((7.31, 2.05, 0.0), (0.0, 0.47, 0.0), (1.70, 0.0, 0.0))
    port, thread = serve_once(payload)
    text = run_measure(
        ["measure", "--p1", f"tcp://127.0.0.1:{port}", "--json", "--seconds", "2", *dirs(state_dir)]
    )
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["source"] for line in lines] == ["p1", "p1"]
    assert [p["direction"] for p in lines[0]["phases"]] == ["import", "export", "none"]
    assert lines[1]["phases"][0]["current_a"] == 7.31
    assert lines[1]["phases"][0]["direction"] == "export"
    thread.join(2)


def test_measure_p1_table(state_dir: Path) -> None:
    port, thread = serve_once(dutch_dsmr5((5, 3, 0), (1.155, 0.0, 0.0), (0.0, 0.696, 0.0)))
    text = run_measure(
        ["measure", "--p1", f"tcp://127.0.0.1:{port}", "--seconds", "1", *dirs(state_dir)]
    )
    assert "5.00" in text
    assert "export" in text
    thread.join(2)


def test_unreachable_source_is_a_clear_error(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    argv = ["measure", "--p1", f"tcp://127.0.0.1:{port}", "--state-dir", str(state_dir)]
    assert main(argv) == 2
    assert main(["measure", "--p1", "nonsense", "--state-dir", str(state_dir)]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to P1 source" in err
    assert "tcp://host:port" in err
