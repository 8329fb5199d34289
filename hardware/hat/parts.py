"""Part templates of the HAT, drawn from the datasheets (no KiCad library needed).

Each template carries its manufacturer part number and footprint; the BOM is checked against them.
"""

from __future__ import annotations

from dataclasses import dataclass

from skidl import SKIDL, TEMPLATE, Part, Pin

PASSIVE = Pin.types.PASSIVE
IN = Pin.types.INPUT
OUT = Pin.types.OUTPUT
BIDIR = Pin.types.BIDIR
PWR_IN = Pin.types.PWRIN
PWR_OUT = Pin.types.PWROUT
OC = Pin.types.OPENCOLL
NOCONNECT = Pin.types.NOCONNECT


@dataclass(frozen=True)
class PartInfo:
    manufacturer: str
    mpn: str
    description: str
    footprint: str


def template(
    name: str, prefix: str, info: PartInfo, pins: list[tuple[int | str, str, object]]
) -> Part:
    return Part(
        name=name,
        tool=SKIDL,
        dest=TEMPLATE,
        ref_prefix=prefix,
        footprint=info.footprint,
        description=info.description,
        pins=[Pin(num=num, name=pin_name, func=func) for num, pin_name, func in pins],
        MFR=info.manufacturer,
        MPN=info.mpn,
    )


def two_pin(name: str, prefix: str, info: PartInfo) -> Part:
    return template(name, prefix, info, [(1, "1", PASSIVE), (2, "2", PASSIVE)])


RESISTOR_0603 = PartInfo(
    "Yageo", "RC0603FR-07", "Resistor 1 % 0603", "Resistor_SMD:R_0603_1608Metric"
)
RESISTOR_1206_HV = PartInfo(
    "Vishay",
    "CRCW1206-HP",
    "Resistor 1 % 1206, 200 V pulse-proof",
    "Resistor_SMD:R_1206_3216Metric",
)
CAPACITOR_0603 = PartInfo("Murata", "GRM188R71", "MLCC X7R 0603", "Capacitor_SMD:C_0603_1608Metric")
CAPACITOR_C0G = PartInfo("Murata", "GRM1885C1H", "MLCC C0G 0603", "Capacitor_SMD:C_0603_1608Metric")
CAPACITOR_BULK = PartInfo(
    "Panasonic", "EEE-FK1A471P", "Electrolytic 470 uF 10 V", "Capacitor_SMD:CP_Elec_8x10"
)
FERRITE = PartInfo(
    "Murata", "BLM18PG221SN1D", "Ferrite bead 220 R", "Inductor_SMD:L_0603_1608Metric"
)
JUMPER = PartInfo(
    "Amphenol", "77311-118-02LF", "2-pin header + shunt", "Connector:PinHeader_1x02_P2.54mm"
)

R = two_pin("R", "R", RESISTOR_0603)
R_HV = two_pin("R", "R", RESISTOR_1206_HV)
C = two_pin("C", "C", CAPACITOR_0603)
C_C0G = two_pin("C", "C", CAPACITOR_C0G)
C_BULK = two_pin("C", "C", CAPACITOR_BULK)
FB = two_pin("FB", "FB", FERRITE)
JP = two_pin("JP", "JP", JUMPER)
FUSE = two_pin(
    "Fuse",
    "F",
    PartInfo(
        "Littelfuse",
        "39210500000",
        "Fuse 500 mA slow, TR5 radial",
        "Fuse:Fuse_Littelfuse_395Series",
    ),
)
VARISTOR = two_pin(
    "Varistor",
    "RV",
    PartInfo(
        "TDK/EPCOS", "B72207S2271K101", "Varistor 275 VAC 7 mm", "Varistor:RV_Disc_D7mm_W3.4mm_P5mm"
    ),
)
TVS_SIGNAL = two_pin(
    "TVS",
    "D",
    PartInfo("Nexperia", "PESD3V3S1UB", "Bidirectional ESD diode 3.3 V", "Diode_SMD:D_SOD-523"),
)
LED_YELLOW = template(
    "LED",
    "D",
    PartInfo("Kingbright", "APT1608SYCK", "LED yellow 0603", "LED_SMD:LED_0603_1608Metric"),
    [(1, "K", PASSIVE), (2, "A", PASSIVE)],
)
LED_GREEN = template(
    "LED",
    "D",
    PartInfo("Kingbright", "APT1608SGC", "LED green 0603", "LED_SMD:LED_0603_1608Metric"),
    [(1, "K", PASSIVE), (2, "A", PASSIVE)],
)
LED_RED = template(
    "LED",
    "D",
    PartInfo("Kingbright", "APT1608EC", "LED red 0603", "LED_SMD:LED_0603_1608Metric"),
    [(1, "K", PASSIVE), (2, "A", PASSIVE)],
)
BUTTON = two_pin(
    "Button",
    "SW",
    PartInfo("C&K", "PTS645SM43SMTR92", "Tactile switch 6 mm", "Button_Switch_SMD:SW_SPST_PTS645"),
)

TERMINAL_3 = template(
    "Terminal_3",
    "J",
    PartInfo(
        "TE Connectivity", "284391-3", "Screw terminal 3 pole 3.5 mm", "TerminalBlock:TE_284391-3"
    ),
    [(1, "1", PASSIVE), (2, "2", PASSIVE), (3, "3", PASSIVE)],
)
TERMINAL_MAINS = template(
    "Terminal_Mains",
    "J",
    PartInfo(
        "Phoenix Contact",
        "1935174",
        "Screw terminal 3 pole 5.08 mm, 250 V",
        "TerminalBlock:MKDS_1,5-3",
    ),
    [(1, "L", PASSIVE), (2, "N", PASSIVE), (3, "PE", PASSIVE)],
)
CT_JACK = template(
    "CT_Jack",
    "J",
    PartInfo(
        "CUI Devices",
        "SJ1-3525N",
        "3.5 mm jack, normally-closed switch isolated from the signal",
        "Connector_Audio:Jack_3.5mm_CUI_SJ1-3525N",
    ),
    [(1, "SLEEVE", PASSIVE), (2, "TIP", PASSIVE), (3, "SW_A", PASSIVE), (4, "SW_B", PASSIVE)],
)
RJ12 = template(
    "RJ12",
    "J",
    PartInfo("Amphenol", "RJE031660110", "RJ12 6P6C jack", "Connector_RJ:RJ12_Amphenol_54601"),
    [
        (1, "PWR_3V7", PASSIVE),
        (2, "REQUEST", PASSIVE),
        (3, "DATA_GND", PASSIVE),
        (4, "NC", NOCONNECT),
        (5, "DATA", PASSIVE),
        (6, "PWR_GND", PASSIVE),
    ],
)
OLED_HEADER = template(
    "OLED_Header",
    "J",
    PartInfo(
        "Samtec",
        "SSW-104-01-T-S",
        "4-pin socket for the SSD1306 module",
        "Connector:PinSocket_1x04_P2.54mm",
    ),
    [(1, "GND", PASSIVE), (2, "VCC", PASSIVE), (3, "SCL", PASSIVE), (4, "SDA", PASSIVE)],
)

AC_DC = template(
    "AC_DC_5V",
    "PS",
    PartInfo(
        "MEAN WELL",
        "IRM-10-5",
        "Isolated AC/DC module 5 V 2 A, reinforced",
        "Converter_ACDC:MeanWell_IRM-10",
    ),
    [(1, "AC_N", PASSIVE), (2, "AC_L", PASSIVE), (3, "-VO", PASSIVE), (4, "+VO", PWR_OUT)],
)
ISO_DCDC = template(
    "ISO_DCDC",
    "PS",
    PartInfo(
        "Murata", "NXE1S0505MC", "Isolated DC/DC 5 V to 5 V, 1 W", "Converter_DCDC:Murata_NXE1"
    ),
    [(1, "GND", PWR_IN), (2, "VIN", PWR_IN), (4, "0V", PASSIVE), (5, "+VOUT", PWR_OUT)],
)
IDEAL_DIODE = template(
    "Ideal_Diode",
    "U",
    PartInfo(
        "Texas Instruments",
        "LM66100DCKR",
        "Ideal diode 1.5 A (HAT back-powering)",
        "Package_TO_SOT_SMD:SOT-363",
    ),
    [
        (1, "VIN", PWR_IN),
        (2, "GND", PWR_IN),
        (3, "CE", IN),
        (4, "ST", OC),
        (5, "VOUT", PWR_OUT),
        (6, "NC", NOCONNECT),
    ],
)
LDO_ADJ = template(
    "LDO_ADJ",
    "U",
    PartInfo(
        "Texas Instruments", "TLV75801PDBVR", "LDO 500 mA adjustable", "Package_TO_SOT_SMD:SOT-23-5"
    ),
    [(1, "IN", PWR_IN), (2, "GND", PWR_IN), (3, "EN", IN), (4, "FB", IN), (5, "OUT", PWR_OUT)],
)
OPAMP = template(
    "OpAmp_Buffer",
    "U",
    PartInfo(
        "Texas Instruments",
        "TLV9061IDBVR",
        "Op-amp rail to rail, 50 mA output (bias buffer)",
        "Package_TO_SOT_SMD:SOT-23-5",
    ),
    [(1, "OUT", OUT), (2, "V-", PWR_IN), (3, "+IN", IN), (4, "-IN", IN), (5, "V+", PWR_IN)],
)
VOLTAGE_SENSOR = template(
    "ZMPT101B",
    "T",
    PartInfo(
        "Qingxian Zeming",
        "ZMPT101B",
        "Voltage transformer 2 mA : 2 mA, 4 kV isolation",
        "Transformer_THT:ZMPT101B",
    ),
    [(1, "P1", PASSIVE), (2, "P2", PASSIVE), (3, "S1", PASSIVE), (4, "S2", PASSIVE)],
)
MCP3208 = template(
    "MCP3208",
    "U",
    PartInfo(
        "Microchip",
        "MCP3208-CI/SL",
        "12-bit 8-channel SAR ADC, SPI",
        "Package_SO:SOIC-16_3.9x9.9mm_P1.27mm",
    ),
    [
        *[(n + 1, f"CH{n}", IN) for n in range(8)],
        (9, "DGND", PWR_IN),
        (10, "CS", IN),
        (11, "DIN", IN),
        (12, "DOUT", OUT),
        (13, "CLK", IN),
        (14, "AGND", PWR_IN),
        (15, "VREF", PWR_IN),
        (16, "VDD", PWR_IN),
    ],
)
ADS131M04 = template(
    "ADS131M04",
    "U",
    PartInfo(
        "Texas Instruments",
        "ADS131M04IPWR",
        "24-bit 4-channel simultaneous delta-sigma ADC",
        "Package_SO:TSSOP-20_4.4x6.5mm_P0.65mm",
    ),
    [
        (1, "AIN1P", IN),
        (2, "AIN1N", IN),
        (3, "AIN0N", IN),
        (4, "AIN0P", IN),
        (5, "SYNC/RESET", IN),
        (6, "CS", IN),
        (7, "DRDY", OUT),
        (8, "SCLK", IN),
        (9, "DOUT", OUT),
        (10, "DIN", IN),
        (11, "CLKIN", IN),
        (12, "DGND", PWR_IN),
        (13, "CAP", PASSIVE),
        (14, "DVDD", PWR_IN),
        (15, "AVDD", PWR_IN),
        (16, "AGND", PWR_IN),
        (17, "AIN3P", IN),
        (18, "AIN3N", IN),
        (19, "AIN2N", IN),
        (20, "AIN2P", IN),
    ],
)
OSCILLATOR = template(
    "Oscillator",
    "Y",
    PartInfo(
        "ECS",
        "ECS-2520MV-081.9-BN-TR",
        "Oscillator 8.192 MHz 3.3 V CMOS",
        "Oscillator:Oscillator_SMD_ECS_2520MV",
    ),
    [(1, "EN", IN), (2, "GND", PWR_IN), (3, "OUT", OUT), (4, "VDD", PWR_IN)],
)
OPTO_FAST = template(
    "ACPL-M61L",
    "U",
    PartInfo(
        "Broadcom",
        "ACPL-M61L-500E",
        "Optocoupler 10 MBd, open-collector output, 3.75 kV",
        "Package_SO:SO-5_4.4x3.6mm_P1.27mm",
    ),
    [(1, "A", PASSIVE), (3, "K", PASSIVE), (4, "GND", PWR_IN), (5, "VO", OC), (6, "VCC", PWR_IN)],
)
OPTO_TRANSISTOR = template(
    "Opto_Transistor",
    "U",
    PartInfo(
        "Vishay",
        "TCMT1107",
        "Optocoupler, phototransistor output",
        "Package_SO:MFSOP-4_4.4x2.6mm_P1.27mm",
    ),
    [(1, "A", PASSIVE), (2, "K", PASSIVE), (3, "E", PASSIVE), (4, "C", PASSIVE)],
)
RS485 = template(
    "THVD1426",
    "U",
    PartInfo(
        "Texas Instruments",
        "THVD1426DR",
        "RS-485 transceiver with automatic direction control",
        "Package_SO:SOIC-8_3.9x4.9mm_P1.27mm",
    ),
    [
        (1, "R", OUT),
        (2, "TERM_EN", IN),
        (3, "NC", NOCONNECT),
        (4, "D", IN),
        (5, "GND", PWR_IN),
        (6, "A", BIDIR),
        (7, "B", BIDIR),
        (8, "VCC", PWR_IN),
    ],
)
TVS_RS485 = template(
    "SM712",
    "D",
    PartInfo("Littelfuse", "SM712-02HTG", "RS-485 TVS array -7/+12 V", "Package_TO_SOT_SMD:SOT-23"),
    [(1, "IO1", PASSIVE), (2, "IO2", PASSIVE), (3, "GND", PASSIVE)],
)
EEPROM = template(
    "24C32",
    "U",
    PartInfo(
        "onsemi",
        "CAT24C32WI-GT3",
        "HAT ID EEPROM 32 kbit I2C",
        "Package_SO:SOIC-8_3.9x4.9mm_P1.27mm",
    ),
    [
        (1, "A0", IN),
        (2, "A1", IN),
        (3, "A2", IN),
        (4, "VSS", PWR_IN),
        (5, "SDA", BIDIR),
        (6, "SCL", IN),
        (7, "WP", IN),
        (8, "VCC", PWR_IN),
    ],
)


def pi_header() -> Part:
    """The 40-pin Raspberry Pi header, pins named by function (BCM GPIO numbers)."""
    gpio_at = {
        3: 2,
        5: 3,
        7: 4,
        8: 14,
        10: 15,
        11: 17,
        12: 18,
        13: 27,
        15: 22,
        16: 23,
        18: 24,
        19: 10,
        21: 9,
        22: 25,
        23: 11,
        24: 8,
        26: 7,
        27: 0,
        28: 1,
        29: 5,
        31: 6,
        32: 12,
        33: 13,
        35: 19,
        36: 16,
        37: 26,
        38: 20,
        40: 21,
    }
    pins: list[tuple[int | str, str, object]] = []
    for number in range(1, 41):
        if number in (2, 4):
            pins.append((number, "5V", PASSIVE))
        elif number in (1, 17):
            pins.append((number, "3V3", PASSIVE))
        elif number in (6, 9, 14, 20, 25, 30, 34, 39):
            pins.append((number, "GND", PASSIVE))
        else:
            pins.append((number, f"GPIO{gpio_at[number]}", BIDIR))
    info = PartInfo(
        "Samtec", "ESQ-120-14-G-D", "2x20 stacking header 2.54 mm", "Connector:RaspberryPi_HAT"
    )
    return template("Pi_Header", "J", info, pins)
