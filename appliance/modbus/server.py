"""pymodbus adapter: serve a `RegisterMap` over Modbus TCP or RTU in the running asyncio loop.

The datastore is pymodbus's `SimDevice` (the non-deprecated way in 3.16) with one `SimData`
block per gap-free range of the map; its async action computes the requested words from the
newest `ReportedGrid` on every read. Each connection is a `MeterConnection`, which adds what a
grid meter on a shared bus needs and pymodbus leaves to the application:

- exception 01 for every function but FC03/FC04 (pymodbus would otherwise answer diagnostics,
  device identification, or read coils out of the registers);
- RTU: silence for other unit addresses (pymodbus answers them with an exception);
- RTU: a silent interval ends a frame, so garbage from a noisy bus cannot swallow the next
  request; TCP: a connection with an impossible MBAP header is closed (as meters do);
- the request log: function, address, count, unit, peer and the answer of every request.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from appliance.errors import ModbusError
from appliance.grid import ReportedGrid
from appliance.modbus.log import RequestLog, addressing_hint
from appliance.modbus.registers import READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS, RegisterMap

_log = logging.getLogger(__name__)

ReportedSource = Callable[[], ReportedGrid | None]

SERVED_FUNCTIONS = frozenset({READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS})
MBAP_MAX_LENGTH = 254  # unit id + the largest PDU (253 bytes)
RTU_MIN_GAP_S = 0.02  # floor for the end-of-frame silence: UART and scheduler latency


@dataclass
class MeterEndpoint:
    """What one server serves: the map, the address offset, where values come from."""

    register_map: RegisterMap
    source: ReportedSource
    log: RequestLog
    transport: Literal["tcp", "rtu"]
    address_offset: int = 0  # -1: the map is served one address lower (1-based chargers)
    unit: int | None = None  # RTU address; None answers every unit id (TCP)
    peer_name: str = ""  # serial port name, shown in the log for RTU

    def sim_device(self) -> SimDevice:
        """A pymodbus device whose blocks cover exactly the map's registers."""
        blocks = []
        for start, count in self.register_map.blocks():
            served = start + self.address_offset
            # An offset of -1 cannot move address 0 lower: that word is not served.
            first = max(served, 0)
            words = count - (first - served)
            blocks.append(
                SimData(address=first, count=words, values=0, datatype=DataType.REGISTERS)
            )
        return SimDevice(id=0, simdata=blocks, action=self._action)

    async def _action(  # noqa: PLR0917 (pymodbus's SimAction signature)
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION
        try:
            words = self.register_map.read_registers(
                function_code, address - self.address_offset, count, self.source()
            )
        except ModbusError as exc:
            return ExcCodes(exc.exception_code)
        offset = address - start_address
        registers[offset : offset + count] = words
        return None


class _RefusedRequest(ModbusPDU):
    """Stands in for a request the meter does not serve; answers exception 01."""

    def __init__(self, original: ModbusPDU) -> None:
        super().__init__(dev_id=original.dev_id, transaction_id=original.transaction_id)
        self.function_code = original.function_code

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)


@dataclass(frozen=True, slots=True)
class _Pending:
    unit: int
    function_code: int
    address: int
    count: int
    transaction_id: int = 0

    def answered_by(self, response: ModbusPDU) -> bool:
        return (self.unit, self.function_code, self.transaction_id) == (
            response.dev_id,
            response.function_code & 0x7F,
            response.transaction_id,
        )


class MeterConnection(ServerRequestHandler):
    """One TCP client, or the serial line (see the module docstring)."""

    def __init__(self, server: Any, endpoint: MeterEndpoint) -> None:
        self.endpoint = endpoint
        self._pending: deque[_Pending] = deque(maxlen=16)
        self._last_rx = 0.0
        self._head_pdu = b""  # the start of the newest frame's PDU, as received
        super().__init__(server, server.trace_packet, self._trace_pdu, None)  # type: ignore[no-untyped-call]
        self._rtu_gap_s = 0.0
        if endpoint.transport == "rtu":
            baudrate = server.comm_params.baudrate or 9600
            self._rtu_gap_s = max(3.5 * 11 / baudrate, RTU_MIN_GAP_S)

    # --- receive side ---------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[Any, ...] | None) -> None:
        if self._rtu_gap_s:
            now = asyncio.get_running_loop().time()
            if self.recv_buffer and now - self._last_rx > self._rtu_gap_s:
                self.recv_buffer = b""  # a silence ended the previous (incomplete) frame
            self._last_rx = now
            self._head_pdu = (self.recv_buffer + data)[1:6]  # function, address, count
        else:
            stream = self.recv_buffer + data
            if not self._mbap_plausible(stream):
                self._close_bad_stream(stream)
                return
            if len(stream) > 7:
                self._head_pdu = stream[7 : 6 + int.from_bytes(stream[4:6], "big")]
        super().datagram_received(data, addr)
        if not self._rtu_gap_s and not self._mbap_plausible(self.recv_buffer):
            self._close_bad_stream(self.recv_buffer)

    @staticmethod
    def _mbap_plausible(buffer: bytes) -> bool:
        """False for a stream whose next MBAP header no Modbus TCP client sends."""
        if len(buffer) < 6:
            return True
        protocol = int.from_bytes(buffer[2:4], "big")
        length = int.from_bytes(buffer[4:6], "big")
        return protocol == 0 and 2 <= length <= MBAP_MAX_LENGTH

    def _close_bad_stream(self, buffer: bytes) -> None:
        unit = buffer[6] if len(buffer) > 6 else 0
        function_code = buffer[7] if len(buffer) > 7 else 0
        self._record(_Pending(unit, function_code, 0, 0), "closed: malformed MBAP header")
        self.recv_buffer = b""
        if self.transport:
            self.transport.close()

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            return pdu
        self._pending.append(
            _Pending(pdu.dev_id, pdu.function_code, pdu.address, pdu.count, pdu.transaction_id)
        )
        if pdu.function_code not in SERVED_FUNCTIONS:
            return _RefusedRequest(pdu)
        return pdu

    # --- send side ------------------------------------------------------------------------

    def server_send(self, pdu: ModbusPDU | None, addr: Any) -> None:
        if pdu is None:
            return
        request = self._take_pending(pdu)
        if request is None:  # pymodbus could not decode the frame
            request, pdu = self._refusal_for_undecodable(pdu)
        unit = self.endpoint.unit
        if unit is not None and pdu.dev_id != unit:
            self._record(request, f"silent: not unit {unit}")
            return
        if isinstance(pdu, ExceptionResponse):
            self._record(request, f"exception {pdu.exception_code:02d}")
        else:
            self._record(request, "ok")
        super().server_send(pdu, addr)  # type: ignore[no-untyped-call]

    def _refusal_for_undecodable(self, pdu: ModbusPDU) -> tuple[_Pending, ModbusPDU]:
        """pymodbus answers every undecodable frame with exception 01 and function 0. Say
        which function it was, and answer a read with a bad count with 03, as Modbus asks."""
        head = self._head_pdu
        function_code = pdu.function_code & 0x7F or (head[0] if head else 0)
        address = count = 0
        code = ExcCodes.ILLEGAL_FUNCTION
        if function_code in SERVED_FUNCTIONS and len(head) == 5:
            address, count = struct.unpack(">HH", head[1:])
            code = ExcCodes.ILLEGAL_VALUE  # the decoder refuses counts outside 1..125
        request = _Pending(pdu.dev_id, function_code, address, count, pdu.transaction_id)
        if not isinstance(pdu, ExceptionResponse):
            return request, pdu
        answer = ExceptionResponse(
            function_code, code, device_id=pdu.dev_id, transaction=pdu.transaction_id
        )
        return request, answer

    def _take_pending(self, response: ModbusPDU) -> _Pending | None:
        """The request this response answers; older ones pymodbus dropped are forgotten."""
        for index, request in enumerate(self._pending):
            if request.answered_by(response):
                for _ in range(index + 1):
                    self._pending.popleft()
                return request
        return None

    # --- log ------------------------------------------------------------------------------

    def _record(self, request: _Pending, result: str) -> None:
        endpoint = self.endpoint
        endpoint.log.add(
            transport=endpoint.transport,
            peer=self._peer(),
            unit=request.unit,
            function_code=request.function_code,
            address=request.address,
            count=request.count,
            result=result,
            hint=addressing_hint(
                endpoint.register_map,
                endpoint.address_offset,
                request.function_code,
                request.address,
                request.count,
            ),
        )

    def _peer(self) -> str:
        if self.endpoint.transport == "rtu":
            return self.endpoint.peer_name
        transport = self.transport
        peer = transport.get_extra_info("peername") if transport else None
        if isinstance(peer, tuple) and len(peer) >= 2:
            return f"{peer[0]}:{peer[1]}"
        return "?"


class MeterTcpServer(ModbusTcpServer):
    """Modbus TCP: every unit id is answered (a charger may use 0, 1 or 255)."""

    def __init__(self, endpoint: MeterEndpoint, host: str, port: int) -> None:
        self.endpoint = endpoint
        super().__init__(endpoint.sim_device(), address=(host, port))

    def callback_new_connection(self) -> MeterConnection:
        return MeterConnection(self, self.endpoint)

    @property
    def bound_port(self) -> int:
        """The listening port (tests bind port 0)."""
        listener = self.transport
        if not isinstance(listener, asyncio.Server) or not listener.sockets:
            return 0
        return int(listener.sockets[0].getsockname()[1])


class MeterSerialServer(ModbusSerialServer):
    """Modbus RTU on a serial port; silent for other unit addresses (shared RS485 bus)."""

    def __init__(
        self,
        endpoint: MeterEndpoint,
        port: str,
        baudrate: int,
        parity: str,
        stopbits: int,
    ) -> None:
        self.endpoint = endpoint
        super().__init__(
            endpoint.sim_device(),
            port=port,
            baudrate=baudrate,
            parity=parity,
            stopbits=stopbits,
            bytesize=8,
        )

    def callback_new_connection(self) -> MeterConnection:
        return MeterConnection(self, self.endpoint)
