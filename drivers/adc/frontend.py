"""The HAT's analog front end, as the fake chips see it: primary volts and amps in, pin volts out.

Per input: the L1 voltage reference (a ZMPT101B-style 2 mA : 2 mA transformer with resistors,
scaling 230 V to 0.8 V RMS for the MCP3208 or 0.6 V RMS for the ADS131M0x) or a CT (ratio 2000)
into its burden (40 Ω for 1..40 A, 20 Ω for 1..80 A); then the first-order anti-alias RC
(1 kΩ, 10 nF: hardware/values.toml), the bias (MCP3208: 1.65 V mid-rail; ADS131M0x: ground),
noise, and clipping at the input's rails. An empty CT jack closes its normally-closed switch
and pins the input to a fixed DC level far from the bias (0 V on the MCP3208 board; about
+0.58 V from a 4.7 kΩ / 1 kΩ divider off 3.3 V on the ADS131M0x board), so a missing CT shows
in the samples alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.polynomial.laguerre import laggauss

from drivers.adc.signals import InputFaults, PrimarySignals

# The RC's response y(t) = ∫ x(t - τu) e^{-u} du is integrated with Gauss-Laguerre nodes:
# exact for any signal that is a polynomial of degree < 8 over a few τ, i.e. to ~1e-9 for the
# mains harmonics (ωτ < 0.1) the grid carries.
_RC_NODES, _RC_WEIGHTS = laggauss(4)

Kernel = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]  # (time offsets, weights)


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """One HAT variant's input stage; every row of `SIGNAL_ROLES` goes through it."""

    volts_per_line_volt: float  # L1 reference: pin volts per mains volt
    bias_v: float  # the DC every input sits on
    rail_low_v: float  # the input clamps (protection diodes, supply rails)
    rail_high_v: float
    unplugged_v: float  # DC level of an input whose CT jack is empty
    noise_v_rms: float  # front-end plus converter noise, referred to the pin
    ct_ratio: float = 2000.0
    burden_ohm: float = 40.0
    filter_r_ohm: float = 1000.0
    filter_c_f: float = 10e-9

    @property
    def filter_tau_s(self) -> float:
        return self.filter_r_ohm * self.filter_c_f

    @property
    def volts_per_primary_amp(self) -> float:
        return self.burden_ohm / self.ct_ratio

    def pin_volts(
        self,
        signals: PrimarySignals,
        times_s: npt.NDArray[np.float64],
        faults: InputFaults,
        rng: np.random.Generator,
        converter_kernel: Kernel | None = None,
    ) -> npt.NDArray[np.float64]:
        """Pin volts of all four inputs at `times_s`, shape (4, n).

        `converter_kernel` is the converter's own averaging (the ADS131M0x's sinc3 filter) as
        time offsets and weights; it is combined with the RC filter's nodes.
        """
        offsets = -self.filter_tau_s * _RC_NODES
        weights = _RC_WEIGHTS
        if converter_kernel is not None:
            k_offsets, k_weights = converter_kernel
            offsets = (k_offsets[:, None] + offsets[None, :]).ravel()
            weights = (k_weights[:, None] * weights[None, :]).ravel()
        nodes = times_s[None, :] + offsets[:, None]  # (nodes, n)
        primary = signals.primary(nodes.ravel()).reshape(4, len(offsets), len(times_s))
        filtered = np.einsum("rkn,k->rn", primary, weights)
        scale = np.array([self.volts_per_line_volt] + [self.volts_per_primary_amp] * 3)
        volts = filtered * scale[:, None] + self.bias_v
        for ct, unplugged in enumerate(faults.ct_unplugged, start=1):
            if unplugged:
                volts[ct] = self.unplugged_v
        if self.noise_v_rms > 0:
            volts += rng.normal(0.0, self.noise_v_rms, size=volts.shape)
        clipped: npt.NDArray[np.float64] = np.clip(volts, self.rail_low_v, self.rail_high_v)
        return clipped


def mcp3208_front_end(burden_ohm: float = 40.0, ct_ratio: float = 2000.0) -> FrontEnd:
    """The MCP3208 board: 3.3 V reference, inputs biased at 1.65 V, 230 V -> 0.8 V RMS."""
    return FrontEnd(
        volts_per_line_volt=0.8 / 230.0,
        bias_v=1.65,
        rail_low_v=0.0,
        rail_high_v=3.3,
        unplugged_v=0.0,  # the jack switch grounds the input
        noise_v_rms=0.4e-3,  # about 0.5 LSB: reference and bias noise plus transition noise
        ct_ratio=ct_ratio,
        burden_ohm=burden_ohm,
    )


def ads131m0x_front_end(burden_ohm: float = 40.0, ct_ratio: float = 2000.0) -> FrontEnd:
    """The ADS131M0x board: inputs around ground, ±1.2 V at gain 1, 230 V -> 0.6 V RMS."""
    return FrontEnd(
        volts_per_line_volt=0.6 / 230.0,
        bias_v=0.0,
        rail_low_v=-1.3,  # the inputs' absolute range (AVSS - 1.3 V)
        rail_high_v=1.3,  # input clamp diodes to the 3.3 V supply through series resistors
        # The jack switch's 4.7 k / 1 k divider, loaded by the filter resistor and the burden
        # (hardware/calculations.md, "Empty CT jack").
        unplugged_v=0.323,
        noise_v_rms=3e-6,  # datasheet input-referred noise at OSR 1024, high-resolution mode
        ct_ratio=ct_ratio,
        burden_ohm=burden_ohm,
    )
