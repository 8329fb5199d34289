"""The HAT schematic as code. `build(variant)` returns a SKiDL circuit; `main` runs ERC and writes
the KiCad netlist of each ADC variant to hardware/build/.

GPIO numbers come from hardware/pinmap.toml, so the schematic and the software cannot disagree.
"""

from __future__ import annotations

import argparse
import logging
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from skidl import POWER, Circuit, Net, Part
from skidl.logger import erc_logger, stop_log_file_output

from drivers.pinmap import PinMap, load_pinmap
from hardware.hat import parts

Variant = Literal["mcp3208", "ads131m04"]
VARIANTS: tuple[Variant, ...] = ("mcp3208", "ads131m04")
stop_log_file_output()  # SKiDL would litter the working directory with .erc and .log files
HARDWARE_DIR = Path(__file__).resolve().parent.parent
VALUES_FILE = HARDWARE_DIR / "values.toml"


def load_values(path: Path = VALUES_FILE) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def ohms(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def farads(value: float) -> str:
    for scale, unit in ((1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if value >= scale:
            return f"{value / scale:g}{unit}"
    return f"{value:g}"


class HatBuilder:
    """Adds the HAT's blocks to one circuit."""

    def __init__(self, variant: Variant, pins: PinMap, values: dict[str, Any]) -> None:
        self.variant = variant
        self.pins = pins
        self.values = values
        self.circuit = Circuit()
        self._nets: dict[str, Net] = {}
        self.gnd = self.power_net("GND")
        self.v5 = self.power_net("+5V")
        self.v3 = self.power_net("+3V3")
        self.v3a = self.power_net("+3V3A")
        self.header = self.part(parts.pi_header())
        self._used_header_pins: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------
    def power_net(self, name: str) -> Net:
        net = self.net(name)
        net.drive = POWER
        return net

    def net(self, name: str) -> Net:
        """The net of that name, created on first use (one name, one net)."""
        if name not in self._nets:
            self._nets[name] = Net(name, circuit=self.circuit)
        return self._nets[name]

    def part(self, template: Part, value: str = "") -> Part:
        return template(value=value or template.name, circuit=self.circuit)

    def resistor(self, a: Net, b: Net, value: float, high_voltage: bool = False) -> Part:
        r = self.part(parts.R_HV if high_voltage else parts.R, ohms(value))
        a += r[1]
        b += r[2]
        return r

    def capacitor(self, a: Net, b: Net, value: float, c0g: bool = False) -> Part:
        c = self.part(parts.C_C0G if c0g else parts.C, farads(value))
        a += c[1]
        b += c[2]
        return c

    def gpio(self, number: int) -> Any:
        name = f"GPIO{number}"
        self._used_header_pins.add(name)
        return self.header[name]

    # -- blocks ----------------------------------------------------------------------------
    def pi_power(self) -> None:
        self.v5 += self.header["5V"]
        self.v3 += self.header["3V3"]
        self.gnd += self.header["GND"]
        ferrite = self.part(parts.FB, "220R@100MHz")
        self.v3 += ferrite[1]
        self.v3a += ferrite[2]
        self.capacitor(self.v3a, self.gnd, 10e-6)

    def mains_supply(self) -> None:
        """230 V in, fuse, varistor, isolated 5 V module back-powering the Pi via an ideal diode."""
        mains = self.values["mains"]
        terminal = self.part(parts.TERMINAL_MAINS, "L N PE")
        line_in, line, neutral, earth = (
            self.net("AC_L_IN"),
            self.net("AC_L"),
            self.net("AC_N"),
            self.net("PE"),
        )
        line_in += terminal["L"]
        neutral += terminal["N"]
        earth += terminal["PE"]
        fuse = self.part(parts.FUSE, f"{mains['fuse_a'] * 1000:g}mA T")
        line_in += fuse[1]
        line += fuse[2]
        varistor = self.part(parts.VARISTOR, f"{mains['varistor_v']:g}VAC")
        line += varistor[1]
        neutral += varistor[2]
        module = self.part(parts.AC_DC, "IRM-10-5")
        line += module["AC_L"]
        neutral += module["AC_N"]
        psu = self.power_net("+5V_PSU")
        psu += module["+VO"]
        self.gnd += module["-VO"]
        self.part_bulk(psu)
        # HAT rule: a board that back-powers the Pi through the 5 V pins needs an ideal diode.
        diode = self.part(parts.IDEAL_DIODE, "LM66100")
        psu += diode["VIN"]
        self.v5 += diode["VOUT"]
        self.gnd += diode["GND"], diode["CE"]
        self.circuit.NC += diode["ST"], diode["NC"]

    def part_bulk(self, net: Net) -> None:
        bulk = self.part(parts.C_BULK, "470uF")
        net += bulk[1]
        self.gnd += bulk[2]

    def analog_reference(self) -> Net:
        """The return of every input: mid-rail bias (MCP3208) or analog ground (ADS131M04)."""
        if self.variant == "ads131m04":
            return self.gnd
        bias_in, bias = self.net("BIAS_DIV"), self.power_net("BIAS_1V65")
        self.resistor(self.v3a, bias_in, 10e3)
        self.resistor(bias_in, self.gnd, 10e3)
        self.capacitor(bias_in, self.gnd, 1e-6)
        buffer = self.part(parts.OPAMP, "TLV9061")
        bias_in += buffer["+IN"]
        bias += buffer["OUT"], buffer["-IN"]
        self.v3a += buffer["V+"]
        self.gnd += buffer["V-"]
        self.capacitor(bias, self.gnd, 10e-6)
        return bias

    def voltage_reference(self, reference: Net) -> Net:
        """Isolated L1 sample: ZMPT101B current-mode transformer with its series resistors."""
        vr = self.values["voltage_reference"]
        ct = self.values["ct"]
        sensor = self.part(parts.VOLTAGE_SENSOR, "ZMPT101B")
        mid = self.net("VREF_PRI_MID")
        self.resistor(self.net("AC_L"), mid, vr["primary_r_ohm"][0], high_voltage=True)
        primary = self.net("VREF_PRI")
        self.resistor(mid, primary, vr["primary_r_ohm"][1], high_voltage=True)
        primary += sensor["P1"]
        neutral = self.net("AC_N")
        neutral += sensor["P2"]
        secondary = self.net("VREF_SEC")
        secondary += sensor["S1"]
        reference += sensor["S2"]
        self.resistor(secondary, reference, vr["secondary_r_ohm"][self.variant])
        adc_in = self.net("V_ADC")
        self.resistor(secondary, adc_in, ct["filter_r_ohm"])
        self.capacitor(adc_in, reference, ct["filter_c_f"], c0g=True)
        return adc_in

    def ct_input(self, index: int, reference: Net) -> Net:
        """CT jack, selectable burden, TVS, anti-alias RC, and the empty-jack detection."""
        ct = self.values["ct"]
        jack = self.part(parts.CT_JACK, f"CT{index}")
        tip, mid, adc_in = (
            self.net(f"CT{index}_TIP"),
            self.net(f"CT{index}_MID"),
            self.net(f"CT{index}_ADC"),
        )
        tip += jack["TIP"]
        reference += jack["SLEEVE"]
        burden_a, burden_b = ct["burden_ohm"]
        self.resistor(tip, mid, burden_a)
        self.resistor(mid, reference, burden_b)
        jumper = self.part(parts.JP, f"{burden_a:g}R/{burden_a + burden_b:g}R")
        mid += jumper[1]
        reference += jumper[2]
        tvs = self.part(parts.TVS_SIGNAL, "PESD3V3")
        tip += tvs[1]
        reference += tvs[2]
        self.resistor(tip, adc_in, ct["filter_r_ohm"])
        self.capacitor(adc_in, reference, ct["filter_c_f"], c0g=True)
        # An empty jack closes its isolated switch: the ADC input goes to a DC level no CT makes.
        adc_in += jack["SW_A"]
        if self.variant == "mcp3208":
            self.gnd += jack["SW_B"]
        else:
            ads = self.values["adc"]["ads131m04"]
            detect = self.net(f"CT{index}_DET")
            detect += jack["SW_B"]
            self.resistor(self.v3a, detect, ads["ct_detect_pullup_ohm"])
            self.resistor(detect, self.gnd, ads["ct_detect_pulldown_ohm"])
        return adc_in

    def spi_bus(self) -> tuple[Net, Net, Net, Net]:
        ce0, miso, mosi, sclk = (self.gpio(pin) for pin in self.pins.spi_pins)
        nets = self.net("SPI_CE0"), self.net("SPI_MISO"), self.net("SPI_MOSI"), self.net("SPI_SCLK")
        for net, pin in zip(nets, (ce0, miso, mosi, sclk), strict=True):
            net.connect(pin)
        return nets

    def adc_mcp3208(self, inputs: list[Net]) -> None:
        adc = self.part(parts.MCP3208, "MCP3208")
        for channel, net in enumerate(inputs):
            net.connect(adc[f"CH{channel}"])
        for channel in range(len(inputs), 8):
            self.gnd += adc[f"CH{channel}"]
        ce0, miso, mosi, sclk = self.spi_bus()
        ce0 += adc["CS"]
        miso += adc["DOUT"]
        mosi += adc["DIN"]
        sclk += adc["CLK"]
        self.v3a += adc["VDD"], adc["VREF"]
        self.gnd += adc["AGND"], adc["DGND"]
        self.capacitor(self.v3a, self.gnd, 100e-9)

    def adc_ads131m04(self, inputs: list[Net]) -> None:
        adc = self.part(parts.ADS131M04, "ADS131M04")
        for channel, net in enumerate(inputs):
            net.connect(adc[f"AIN{channel}P"])
            self.gnd += adc[f"AIN{channel}N"]
        ce0, miso, mosi, sclk = self.spi_bus()
        ce0 += adc["CS"]
        miso += adc["DOUT"]
        mosi += adc["DIN"]
        sclk += adc["SCLK"]
        drdy, reset = self.net("ADC_DRDY"), self.net("ADC_SYNC_RESET")
        drdy += adc["DRDY"], self.gpio(self.pins.adc_drdy)
        reset += adc["SYNC/RESET"], self.gpio(self.pins.adc_reset)
        self.resistor(self.v3, reset, 10e3)
        oscillator = self.part(parts.OSCILLATOR, "8.192MHz")
        clock = self.net("ADC_CLKIN")
        clock += oscillator["OUT"], adc["CLKIN"]
        self.v3 += oscillator["VDD"], oscillator["EN"]
        self.gnd += oscillator["GND"]
        self.v3a += adc["AVDD"]
        self.v3 += adc["DVDD"]
        self.gnd += adc["AGND"], adc["DGND"]
        cap = self.net("ADC_CAP")
        cap += adc["CAP"]
        self.capacitor(cap, self.gnd, 220e-9)
        self.capacitor(self.v3a, self.gnd, 1e-6)
        self.capacitor(self.v3, self.gnd, 1e-6)

    def p1_port(self) -> None:
        """RJ12 as in the CSP1+ manual; isolated side powered by its own DC/DC converter."""
        p1 = self.values["p1"]
        iso_5v, iso_gnd, p1_supply = (
            self.power_net("+5V_ISO"),
            self.power_net("GND_ISO"),
            self.power_net("+3V7_P1"),
        )
        converter = self.part(parts.ISO_DCDC, "NXE1S0505MC")
        self.v5 += converter["VIN"]
        self.gnd += converter["GND"]
        iso_5v += converter["+VOUT"]
        iso_gnd += converter["0V"]
        ldo = self.part(parts.LDO_ADJ, "TLV75801 3.7V")
        feedback = self.net("P1_LDO_FB")
        iso_5v += ldo["IN"], ldo["EN"]
        iso_gnd += ldo["GND"]
        p1_supply += ldo["OUT"]
        feedback += ldo["FB"]
        self.resistor(p1_supply, feedback, p1["ldo_r1_ohm"])
        self.resistor(feedback, iso_gnd, p1["ldo_r2_ohm"])
        self.capacitor(p1_supply, iso_gnd, 1e-6)
        self.capacitor(iso_5v, iso_gnd, 1e-6)

        jack = self.part(parts.RJ12, "P1")
        p1_supply += jack["PWR_3V7"]
        iso_gnd += jack["PWR_GND"], jack["DATA_GND"]
        self.circuit.NC += jack["NC"]
        self.p1_request(jack, iso_gnd)
        self.p1_data_out(jack, p1_supply, iso_gnd)
        self.p1_input(iso_5v, iso_gnd)

    def p1_request(self, jack: Part, iso_gnd: Net) -> None:
        p1 = self.values["p1"]
        # Request in (pin 2): opto LED on the isolated side, phototransistor pulls GPIO high.
        request, request_led = self.net("P1_REQUEST"), self.net("P1_REQUEST_LED")
        request += jack["REQUEST"]
        self.resistor(request, request_led, p1["request_r_ohm"])
        opto_in = self.part(parts.OPTO_TRANSISTOR, "TCMT1107")
        request_led += opto_in["A"]
        iso_gnd += opto_in["K"]
        request_gpio = self.net("P1_REQUEST_GPIO")
        self.v3 += opto_in["C"]
        request_gpio += opto_in["E"], self.gpio(self.pins.p1_request)
        self.resistor(request_gpio, self.gnd, 10e3)

    def p1_data_out(self, jack: Part, p1_supply: Net, iso_gnd: Net) -> None:
        # Data out (pin 5): TX high (UART idle) lights the LED, the open collector pulls the
        # line low: the inversion DSMR asks for, done in hardware because the Pi's UART cannot.
        tx, tx_led = self.net("P1_TX"), self.net("P1_TX_LED")
        tx += self.gpio(self.pins.p1_uart.tx)
        self.resistor(tx, tx_led, self.values["p1"]["data_led_r_ohm"])
        opto_out = self.part(parts.OPTO_FAST, "ACPL-M61L")
        tx_led += opto_out["A"]
        self.gnd += opto_out["K"]
        data = self.net("P1_DATA")
        data += opto_out["VO"], jack["DATA"]
        p1_supply += opto_out["VCC"]
        iso_gnd += opto_out["GND"]

    def p1_input(self, iso_5v: Net, iso_gnd: Net) -> None:
        # P1 input from a smart meter (second RJ12): we raise its request line, its open
        # collector (inverted: on for a mark) lights an opto LED that pulls RX high.
        rx, meter_led = self.net("P1_RX"), self.net("P1_METER_LED")
        rx += self.gpio(self.pins.p1_uart.rx)
        meter_jack = self.part(parts.RJ12, "P1-IN")
        meter_request = self.net("P1_IN_REQUEST")
        meter_request += meter_jack["REQUEST"]
        self.resistor(iso_5v, meter_request, 1e3)
        self.circuit.NC += meter_jack["PWR_3V7"], meter_jack["NC"]  # the meter's own supply pin
        iso_gnd += meter_jack["PWR_GND"], meter_jack["DATA_GND"]
        meter_data = self.net("P1_IN_DATA")
        meter_data += meter_jack["DATA"]
        self.resistor(iso_5v, meter_led, 330)
        opto_rx = self.part(parts.OPTO_TRANSISTOR, "TCMT1107")
        meter_led += opto_rx["A"]
        meter_data += opto_rx["K"]
        self.v3 += opto_rx["C"]
        rx += opto_rx["E"]
        self.resistor(rx, self.gnd, 4.7e3)

    def rs485(self) -> None:
        transceiver = self.part(parts.RS485, "THVD1426")
        tx, rx = self.net("RS485_TX"), self.net("RS485_RX")
        tx += self.gpio(self.pins.rs485_uart.tx), transceiver["D"]
        rx += self.gpio(self.pins.rs485_uart.rx), transceiver["R"]
        self.v3 += transceiver["VCC"]
        self.gnd += transceiver["GND"], transceiver["TERM_EN"]
        self.circuit.NC += transceiver["NC"]
        self.capacitor(self.v3, self.gnd, 100e-9)
        a, b, shield = self.net("RS485_A"), self.net("RS485_B"), self.net("RS485_SHIELD")
        a += transceiver["A"]
        b += transceiver["B"]
        terminal = self.part(parts.TERMINAL_3, "A+ B- SH")
        a += terminal[1]
        b += terminal[2]
        shield += terminal[3]
        self.resistor(shield, self.net("PE"), 100)  # drain wire to PE through a damping resistor
        termination = self.net("RS485_TERM")
        self.resistor(a, termination, self.values["rs485"]["termination_ohm"])
        jumper = self.part(parts.JP, "TERM 120R")
        termination += jumper[1]
        b += jumper[2]
        tvs = self.part(parts.TVS_RS485, "SM712")
        a += tvs["IO1"]
        b += tvs["IO2"]
        self.gnd += tvs["GND"]

    def front_panel(self) -> None:
        oled = self.part(parts.OLED_HEADER, "SSD1306 128x64")
        sda, scl = self.net("I2C1_SDA"), self.net("I2C1_SCL")
        sda += oled["SDA"], self.gpio(self.pins.i2c_sda)
        scl += oled["SCL"], self.gpio(self.pins.i2c_scl)
        self.v3 += oled["VCC"]
        self.gnd += oled["GND"]
        for role in ("button_left", "button_ok", "button_right"):
            button = self.part(parts.BUTTON, role.removeprefix("button_").upper())
            line = self.net(role.upper())
            line += button[1]
            self.gnd += button[2]
            pin = self.net(f"{role.upper()}_GPIO")
            pin += self.gpio(getattr(self.pins, role))
            self.resistor(line, pin, 1e3)  # ESD and bounce: series R with the internal pull-up
            self.capacitor(pin, self.gnd, 100e-9)
        leds = self.values["leds"]
        pwr_led = self.part(parts.LED_YELLOW, "PWR")
        pwr_anode = self.net("LED_PWR_A")
        self.resistor(self.v5, pwr_anode, leds["pwr_r_ohm"])
        pwr_anode += pwr_led["A"]
        self.gnd += pwr_led["K"]
        for name, template, pin_number, resistor in (
            ("CS", parts.LED_GREEN, self.pins.led_cs, leds["cs_r_ohm"]),
            ("P1", parts.LED_RED, self.pins.led_p1, leds["p1_r_ohm"]),
        ):
            led = self.part(template, name)
            drive, anode = self.net(f"LED_{name}_GPIO"), self.net(f"LED_{name}_A")
            drive += self.gpio(pin_number)
            self.resistor(drive, anode, resistor)
            anode += led["A"]
            self.gnd += led["K"]

    def id_eeprom(self) -> None:
        eeprom = self.part(parts.EEPROM, "CAT24C32")
        sda, scl = self.net("ID_SD"), self.net("ID_SC")
        sda += eeprom["SDA"], self.gpio(self.pins.id_eeprom[0])
        scl += eeprom["SCL"], self.gpio(self.pins.id_eeprom[1])
        self.resistor(self.v3, sda, 3.9e3)
        self.resistor(self.v3, scl, 3.9e3)
        self.v3 += eeprom["VCC"]
        self.gnd += eeprom["VSS"], eeprom["A0"], eeprom["A1"], eeprom["A2"]
        write_protect = self.net("ID_WP")
        write_protect += eeprom["WP"]
        self.resistor(self.v3, write_protect, 10e3)  # protected unless the pads are bridged
        jumper = self.part(parts.JP, "WP")
        write_protect += jumper[1]
        self.gnd += jumper[2]
        self.capacitor(self.v3, self.gnd, 100e-9)

    def unused_header_pins(self) -> None:
        for pin in self.header.pins:
            if pin.name.startswith("GPIO") and pin.name not in self._used_header_pins:
                self.circuit.NC += pin

    def build(self) -> Circuit:
        self.pi_power()
        self.mains_supply()
        reference = self.analog_reference()
        inputs = [self.voltage_reference(reference)]
        inputs += [self.ct_input(index, reference) for index in (1, 2, 3)]
        if self.variant == "mcp3208":
            self.adc_mcp3208(inputs)
        else:
            self.adc_ads131m04(inputs)
        self.p1_port()
        self.rs485()
        self.front_panel()
        self.id_eeprom()
        self.unused_header_pins()
        return self.circuit


def build(
    variant: Variant, pins: PinMap | None = None, values: dict[str, Any] | None = None
) -> Circuit:
    return HatBuilder(variant, pins or load_pinmap(), values or load_values()).build()


def erc_counts(circuit: Circuit) -> tuple[int, int]:
    """Run the electrical rule check; return (errors, warnings)."""
    erc_logger.error.reset()
    erc_logger.warning.reset()
    circuit.ERC()
    return int(erc_logger.error.count), int(erc_logger.warning.count)


def parts_list(circuit: Circuit) -> Iterable[Part]:
    return sorted(
        circuit.parts, key=lambda part: (part.ref_prefix, int(part.ref[len(part.ref_prefix) :]))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ERC and KiCad netlists of the HAT")
    parser.add_argument("--out", type=Path, default=HARDWARE_DIR / "build")
    args = parser.parse_args(argv)
    logging.getLogger("skidl").setLevel(logging.ERROR)
    args.out.mkdir(parents=True, exist_ok=True)
    status = 0
    for variant in VARIANTS:
        circuit = build(variant)
        errors, warnings = erc_counts(circuit)
        target = args.out / f"scc-hat-{variant}.net"
        circuit.generate_netlist(file_=str(target), do_backup=False)
        print(
            f"{variant}: {len(circuit.parts)} parts, {len(circuit.nets)} nets, ERC {errors} errors "
            f"{warnings} warnings -> {target}"
        )
        status |= bool(errors or warnings)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
