"""Design calculations of the HAT, from values.toml. `python -m hardware.calc` rewrites
calculations.md; a test fails when the committed file no longer matches the values."""

from __future__ import annotations

import argparse
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HARDWARE_DIR = Path(__file__).resolve().parent
VALUES_FILE = HARDWARE_DIR / "values.toml"
OUTPUT_FILE = HARDWARE_DIR / "calculations.md"
SQRT2 = math.sqrt(2)


@dataclass(frozen=True)
class Check:
    """One design rule with the number that decides it."""

    name: str
    value: float
    limit: float
    unit: str
    ok: bool


def load(path: Path = VALUES_FILE) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def rc_corner_hz(r_ohm: float, c_f: float) -> float:
    return 1 / (2 * math.pi * r_ohm * c_f)


def first_order_gain(f_hz: float, corner_hz: float) -> float:
    return 1 / math.sqrt(1 + (f_hz / corner_hz) ** 2)


def voltage_reference_v(values: dict[str, Any], variant: str) -> float:
    """RMS volts at the ADC for the nominal mains voltage."""
    vr = values["voltage_reference"]
    return float(vr["mains_v"] / sum(vr["primary_r_ohm"]) * vr["secondary_r_ohm"][variant])


def ads_empty_jack_v(values: dict[str, Any]) -> float:
    """The DC level an empty jack puts on an ADS131M04 input."""
    ct, ads = values["ct"], values["adc"]["ads131m04"]
    load = ct["filter_r_ohm"] + sum(ct["burden_ohm"])
    lower = 1 / (1 / ads["ct_detect_pulldown_ohm"] + 1 / load)
    return float(values["leds"]["supply_v"] * lower / (ads["ct_detect_pullup_ohm"] + lower))


def led_ma(supply_v: float, vf_v: float, r_ohm: float) -> float:
    return (supply_v - vf_v) / r_ohm * 1000


class Calculations:
    def __init__(self, values: dict[str, Any]) -> None:
        self.v = values
        self.lines: list[str] = []
        self.checks: list[Check] = []

    def out(self, line: str = "") -> None:
        self.lines.append(line)

    def check(
        self, name: str, value: float, limit: float, unit: str, *, below: bool = True
    ) -> None:
        ok = value <= limit if below else value >= limit
        self.checks.append(Check(name, value, limit, unit, ok))

    def ct_range(self) -> None:
        ct, mcp, ads = self.v["ct"], self.v["adc"]["mcp3208"], self.v["adc"]["ads131m04"]
        mcp_lsb = mcp["vref_v"] / 2 ** mcp["bits"]
        ads_lsb = 2 * ads["full_scale_v"] / 2 ** ads["bits"]
        mcp_swing = min(mcp["bias_v"], mcp["vref_v"] - mcp["bias_v"])
        self.out("## CT inputs: burden, signal and range")
        self.out()
        self.out(
            f"CT ratio {ct['ratio']}:1. The burden is two {ct['burden_ohm'][0]:g} ohm resistors in "
            "series; the jumper shorts the second one."
        )
        self.out()
        self.out(
            "| burden | range | signal at 1 A (rms / peak) | at range top (peak) | MCP3208 "
            "codes at 1 A (peak) "
            "| MCP3208 clips at (A rms, sine) | ADS131M04 clips at (A rms, sine) |"
        )
        self.out("|---|---|---|---|---|---|---|")
        for burden, top in ((sum(ct["burden_ohm"]), 40.0), (ct["burden_ohm"][0], 80.0)):
            per_amp = burden / ct["ratio"]  # volts rms per primary ampere
            mcp_clip = mcp_swing / SQRT2 / per_amp
            ads_clip = ads["full_scale_v"] / SQRT2 / per_amp
            self.out(
                f"| {burden:g} ohm | 1..{top:g} A | {per_amp * 1000:.1f} mV / "
                f"{per_amp * SQRT2 * 1000:.1f} mV "
                f"| {top * per_amp * SQRT2:.3f} V | {per_amp * SQRT2 / mcp_lsb:.1f} "
                f"| {mcp_clip:.1f} | {ads_clip:.1f} |"
            )
            self.check(f"{burden:g} ohm: ADS131M04 headroom at {top:g} A", top, ads_clip, "A")
            self.check(f"{burden:g} ohm: MCP3208 headroom at {top:g} A", top, mcp_clip, "A")
        self.out()
        self.out(
            f"MCP3208 LSB {mcp_lsb * 1e3:.3f} mV; ADS131M04 LSB {ads_lsb * 1e9:.0f} nV at gain 1. "
            "Waveforms with a crest factor above 1.41 reach full scale earlier: a rectifier "
            "load at the top of the range clips, and the engine flags it."
        )
        self.out()

    def voltage_reference(self) -> None:
        vr, ads = self.v["voltage_reference"], self.v["adc"]["ads131m04"]
        r_primary = sum(vr["primary_r_ohm"])
        i_primary = vr["mains_v"] / r_primary
        p_each = i_primary**2 * vr["primary_r_ohm"][0]
        v_each = vr["mains_v"] * vr["primary_r_ohm"][0] / r_primary
        self.out("## L1 voltage reference")
        self.out()
        self.out(
            f"ZMPT101B (2 mA : 2 mA). Primary: {r_primary / 1e3:g} kohm in two resistors -> "
            f"{i_primary * 1e3:.3f} mA at {vr['mains_v']:g} V. "
            f"Each primary resistor dissipates {p_each * 1000:.0f} mW and sees {v_each:.0f} V rms "
            f"({v_each * SQRT2:.0f} V peak)."
        )
        self.out()
        self.out("| variant | secondary resistor | at 230 V | peak at +10 % | ADC limit |")
        self.out("|---|---|---|---|---|")
        limits = {
            "mcp3208": self.v["adc"]["mcp3208"]["bias_v"],
            "ads131m04": ads["full_scale_v"],
        }
        for variant, limit in limits.items():
            v_secondary = voltage_reference_v(self.v, variant)
            v_peak_high = v_secondary * SQRT2 * (1 + vr["mains_tolerance"])
            self.out(
                f"| {variant} | {vr['secondary_r_ohm'][variant]:g} ohm | {v_secondary:.3f} V rms "
                f"| {v_peak_high:.3f} V | {limit:g} V |"
            )
            self.check(f"{variant}: voltage reference peak at +10 %", v_peak_high, limit, "V")
        self.out()
        self.check(
            "primary resistor power (1206 high-power: 500 mW)", p_each * 1000, 500 * 0.5, "mW"
        )

    def empty_jack(self) -> None:
        ct, ads = self.v["ct"], self.v["adc"]["ads131m04"]
        mcp_bias = self.v["adc"]["mcp3208"]["bias_v"]
        path = ct["filter_r_ohm"] + sum(ct["burden_ohm"])
        self.out("## Empty CT jack")
        self.out()
        self.out(
            "The jack's isolated switch closes when no plug is in and ties the ADC input to a DC "
            "level that no CT makes; the software flags the CT as missing from the samples."
        )
        self.out(
            f"MCP3208: the input goes to 0 V; the bias buffer then sources "
            f"{mcp_bias / path * 1000:.2f} mA per empty jack through the filter resistor and the "
            f"burden ({3 * mcp_bias / path * 1000:.1f} mA with all three empty)."
        )
        self.out(
            f"ADS131M04: the input goes to the {ads['ct_detect_pullup_ohm'] / 1e3:g} k / "
            f"{ads['ct_detect_pulldown_ohm'] / 1e3:g} k divider, loaded by the filter resistor and "
            f"the burden: {ads_empty_jack_v(self.v):.3f} V."
        )
        self.out()

    def filters(self) -> None:
        ct, mcp, ads = self.v["ct"], self.v["adc"]["mcp3208"], self.v["adc"]["ads131m04"]
        corner = rc_corner_hz(ct["filter_r_ohm"], ct["filter_c_f"])
        raw_rate = 1 / (mcp["bits_per_conversion"] / mcp["spi_clock_hz"] + mcp["cs_gap_s"])
        per_channel = raw_rate / mcp["channels"]
        f_mod = ads["clock_hz"] / 2
        data_rate = f_mod / ads["osr"]
        self.out("## Anti-alias filter against sample rates")
        self.out()
        self.out(
            f"RC {ct['filter_r_ohm']:g} ohm / {ct['filter_c_f'] * 1e9:g} nF: corner "
            f"{corner:.0f} Hz, "
            "the same on the voltage and every current input, so its phase shift cancels in the "
            "power product."
        )
        self.out()
        self.out("| frequency | what | gain | phase |")
        self.out("|---|---|---|---|")
        rows = (
            (50.0, "fundamental"),
            (250.0, "5th harmonic"),
            (2000.0, "40th harmonic"),
            (per_channel / 2, "MCP3208 Nyquist per channel"),
            (per_channel, "MCP3208 first alias band"),
            (f_mod, "ADS131M04 modulator clock"),
        )
        for f_hz, what in rows:
            gain = first_order_gain(f_hz, corner)
            self.out(
                f"| {f_hz:,.0f} Hz | {what} | {20 * math.log10(gain):.2f} dB "
                f"| {-math.degrees(math.atan(f_hz / corner)):.2f} deg |"
            )
        self.out()
        self.out(
            f"MCP3208: {mcp['spi_clock_hz'] / 1e6:g} MHz SPI, {mcp['bits_per_conversion']} bits "
            f"and a {mcp['cs_gap_s'] * 1e6:g} us chip-select gap per conversion -> at most "
            f"{raw_rate / 1e3:.1f} k conversions/s, {per_channel / 1e3:.2f} kS/s per channel over "
            f"{mcp['channels']} channels, less the ioctl overhead (docs/adc.md has the rate the "
            "driver reaches). The filter only softens aliasing there: the current of a house "
            "carries little energy above 2 kHz, and switching noise that aliases down is not "
            "coherent with 50 Hz."
        )
        self.out(
            f"ADS131M04: fMOD = {f_mod / 1e6:.3f} MHz, OSR {ads['osr']} -> {data_rate:.0f} SPS; "
            "the on-chip sinc3 filter removes the band up to fMOD, the RC only has to stop energy "
            "at fMOD."
        )
        self.out()
        self.check("filter corner above the 40th harmonic", corner, 2000.0, "Hz", below=False)

    def leds_and_optos(self) -> None:
        leds, p1 = self.v["leds"], self.v["p1"]
        self.out("## LED and optocoupler currents")
        self.out()
        self.out("| what | supply | resistor | current |")
        self.out("|---|---|---|---|")
        for name, supply, vf, r_ohm, gpio in (
            ("PWR (yellow)", leds["pwr_supply_v"], leds["pwr_vf_v"], leds["pwr_r_ohm"], False),
            ("CS (green), GPIO", leds["supply_v"], leds["cs_vf_v"], leds["cs_r_ohm"], True),
            ("P1 (red), GPIO", leds["supply_v"], leds["p1_vf_v"], leds["p1_r_ohm"], True),
            (
                "P1 data opto LED, GPIO14",
                leds["supply_v"],
                p1["data_led_vf_v"],
                p1["data_led_r_ohm"],
                True,
            ),
        ):
            current = led_ma(supply, vf, r_ohm)
            self.out(f"| {name} | {supply:g} V | {r_ohm:g} ohm | {current:.2f} mA |")
            if gpio:
                self.check(f"{name} within the GPIO budget", current, leds["gpio_max_ma"], "mA")
        data_current = led_ma(leds["supply_v"], p1["data_led_vf_v"], p1["data_led_r_ohm"])
        self.check(
            "P1 data opto LED above its threshold x2",
            data_current,
            2 * p1["data_led_threshold_ma"],
            "mA",
            below=False,
        )
        for request_v in p1["request_v"]:
            current = led_ma(request_v, p1["request_vf_v"], p1["request_r_ohm"])
            self.out(
                f"| P1 request opto LED at {request_v:g} V | {request_v:g} V | "
                f"{p1['request_r_ohm']:g} ohm "
                f"| {current:.2f} mA |"
            )
            if request_v == 5.0:
                self.check("request current at 5 V >= 4 mA", current, 4.0, "mA", below=False)
                self.check("request current at 5 V <= 10 mA", current, 10.0, "mA")
        self.out()

    def p1_timing(self) -> None:
        p1 = self.v["p1"]
        bit_s = 1 / p1["baud"]
        tau = p1["data_pullup_ohm"] * p1["data_load_pf"] * 1e-12
        rise = 2.2 * tau
        edge = p1["opto_delay_s"] + rise
        v_supply = p1["ldo_vref_v"] * (1 + p1["ldo_r1_ohm"] / p1["ldo_r2_ohm"])
        self.out("## P1 levels and timing (DSMR 5.0.2)")
        self.out()
        self.out(
            f"Bit time at {p1['baud']} baud: {bit_s * 1e6:.2f} us. Opto delay (max) "
            f"{p1['opto_delay_s'] * 1e9:.0f} ns; rise through the consumer's "
            f"{p1['data_pullup_ohm']:g} ohm "
            f"pull-up and {p1['data_load_pf']:g} pF of cable: {rise * 1e6:.2f} us (10-90 %). "
            f"Worst edge {edge * 1e6:.2f} us = {edge / bit_s * 100:.1f} % of a bit."
        )
        self.out(
            f"Pin 1 supply (manual: +3.7 V): LDO {p1['ldo_vref_v']:g} V x (1 + "
            f"{p1['ldo_r1_ohm'] / 1e3:g}k / "
            f"{p1['ldo_r2_ohm'] / 1e3:g}k) = {v_supply:.3f} V."
        )
        self.out(
            "The data line is an open collector, on (line low) while the UART sends a mark: the "
            "inversion DSMR asks for, done by the opto because the Pi's UART cannot invert."
        )
        self.out()
        self.check("P1 edge within 10 % of a bit", edge / bit_s * 100, 10.0, "%")
        self.check("P1 pin 1 supply within 3.7 V +- 3 %", abs(v_supply - 3.7) / 3.7 * 100, 3.0, "%")

    def mains(self) -> None:
        mains = self.v["mains"]
        term = self.v["rs485"]["termination_ohm"]
        self.out("## Mains side: creepage, clearance, protection")
        self.out()
        self.out(
            f"Fuse {mains['fuse_a'] * 1000:g} mA slow-blow in L, varistor "
            f"{mains['varistor_v']:g} V AC after "
            "it. Between mains and everything a person or the Pi can touch: reinforced insulation, "
            f"creepage >= {mains['creepage_reinforced_mm']:g} mm and clearance >= "
            f"{mains['clearance_reinforced_mm']:g} mm (230 V, overvoltage category II, pollution "
            f"degree 2), with a {mains['slot_width_mm']:g} mm milled slot under the ZMPT101B "
            f"and the "
            "AC/DC module where the copper cannot keep the distance. L and N keep basic spacing "
            "(2.5 mm) from each other. The AC/DC module and the ZMPT101B carry their own "
            "reinforced/4 kV ratings; the P1 optocouplers are rated 3.75 kV."
        )
        self.out(f"RS485 termination {term:g} ohm on a jumper (only the last device on the bus).")
        self.out()

    def render(self) -> str:
        self.out("# HAT design calculations")
        self.out()
        self.out(
            "Generated by `python -m hardware.calc` from `hardware/values.toml`; do not edit "
            "by hand."
        )
        self.out()
        self.ct_range()
        self.voltage_reference()
        self.empty_jack()
        self.filters()
        self.leds_and_optos()
        self.p1_timing()
        self.mains()
        self.out("## Design rules")
        self.out()
        self.out("| rule | value | limit | verdict |")
        self.out("|---|---|---|---|")
        for c in self.checks:
            self.out(
                f"| {c.name} | {c.value:.3g} {c.unit} | {c.limit:.3g} {c.unit} | "
                f"{'ok' if c.ok else 'FAIL'} |"
            )
        return "\n".join(self.lines) + "\n"


def calculate(values: dict[str, Any] | None = None) -> Calculations:
    calc = Calculations(values or load())
    calc.render()
    return calc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HAT design calculations")
    parser.add_argument(
        "--check", action="store_true", help="fail if calculations.md is out of date"
    )
    args = parser.parse_args(argv)
    text = Calculations(load()).render()
    if args.check:
        return 0 if OUTPUT_FILE.read_text(encoding="utf-8") == text else 1
    OUTPUT_FILE.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
