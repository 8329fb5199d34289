"""The writer on a pty null modem, read by dsmr_parser's own serial reader."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.clients.serial_ import SerialReader
from dsmr_parser.clients.settings import SERIAL_SETTINGS_V5
from gpiozero.pins.mock import MockFactory

from appliance.p1.reader import P1Decoder, Rejection
from appliance.p1.telegram import build_telegram
from appliance.p1.writer import TelegramWriter
from drivers.p1.nullmodem import PtyNullModem
from drivers.p1.port import open_port
from drivers.p1.request import RequestLine
from tests.p1.helpers import DEVICE, manual_example, phase, reading


@pytest.fixture
def modem() -> Iterator[PtyNullModem]:
    with PtyNullModem() as pair:
        yield pair


def read_with_dsmr_parser(path: str, count: int, out: list[object]) -> None:
    reader = SerialReader(path, dict(SERIAL_SETTINGS_V5), telegram_specifications.V5)
    for telegram in reader.read_as_object():
        out.append(telegram)
        if len(out) == count:
            return


def test_dsmr_parser_receives_whole_telegrams(modem: PtyNullModem) -> None:
    readings = [
        reading(phase(i, i * 230.0), phase(2 * i, -i * 460.0), phase(0, 0)) for i in (1, 5, 9)
    ]
    received: list[object] = []
    consumer = threading.Thread(target=read_with_dsmr_parser, args=(modem.far_path, 3, received))
    consumer.start()
    port = open_port(modem.near_path)
    writer = TelegramWriter(port, may_continue=lambda: True)
    try:
        # serialx opens the far end a moment later; resend until it has read three telegrams.
        while consumer.is_alive():
            for r in readings:
                writer.send(build_telegram(r, DEVICE))
            consumer.join(0.05)
    finally:
        port.close()
    assert len(received) == 3
    currents = {float(t.INSTANTANEOUS_CURRENT_L1.value) for t in received}  # type: ignore[attr-defined]
    assert currents <= {1.0, 5.0, 9.0}
    assert writer.stats.aborted == 0


class DropsRequestAfter:
    """A real pyserial port whose line drops request after `chunks` writes (the charger's move)."""

    def __init__(self, port: object, request_pin: object, chunks: int) -> None:
        self._port = port
        self._pin = request_pin
        self._left = chunks

    def write(self, data: bytes) -> int | None:
        written: int | None = self._port.write(data)  # type: ignore[attr-defined]
        self._left -= 1
        if self._left == 0:
            self._pin.drive_low()  # type: ignore[attr-defined]
        return written

    def flush(self) -> None:
        self._port.flush()  # type: ignore[attr-defined]

    def reset_output_buffer(self) -> None:
        self._port.reset_output_buffer()  # type: ignore[attr-defined]


def test_request_drop_mid_telegram_stops_output_and_next_is_whole(modem: PtyNullModem) -> None:
    factory = MockFactory()
    try:
        request = RequestLine(25, pin_factory=factory)
        pin = factory.pin(25)
        pin.drive_high()
        near, far = open_port(modem.near_path), open_port(modem.far_path, timeout_s=0.3)
        telegram = build_telegram(manual_example(), DEVICE)
        writer = TelegramWriter(DropsRequestAfter(near, pin, 3), may_continue=request.is_high)
        assert writer.send(telegram) is False
        cut = far.read(4096)
        # Stopped at the first check after the drop: at most the three chunks written (a pty
        # may lose the last one to the output flush, a UART has already sent it).
        assert writer.stats.bytes_sent == 3 * 32
        assert telegram.startswith(cut)
        assert len(cut) <= 3 * 32
        assert writer.send(telegram) is False  # request still low: nothing at all
        assert far.read(4096) == b""
        pin.drive_high()
        assert writer.send(telegram) is True
        whole = far.read(4096)
        assert whole == telegram
        # A P1 reader sees the cut one as truncated and the next one whole.
        decoder = P1Decoder()
        assert len(decoder.feed(telegram[: 3 * 32] + whole, 0.0, 0.0)) == 1
        assert decoder.stats.rejected[Rejection.TRUNCATED] == 1
        assert writer.stats.aborted == 2
        assert writer.stats.bytes_sent == 3 * 32 + len(telegram)
        near.close()
        far.close()
    finally:
        factory.close()
