"""A minimal FIT encoder: enough to write a real activity file that fitdecode (and Strava,
Garmin Connect ...) read: file header with its CRC, definition and data messages for
file_id, record (timestamp, position, altitude, heart rate, distance), session and activity
(with local_timestamp), and the file CRC.

fitdecode only reads, so the sample export and the tests write their FIT files with this.
Reference: the FIT protocol (Garmin FIT SDK, "Flexible and Interoperable Data Transfer").
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Sequence

from fitdecode import profile

FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z as a Unix time
PROFILE_VERSION = 2132  # 21.32
PROTOCOL_VERSION = 0x20  # 2.0

# base type name -> (FIT base type byte, struct format, invalid value)
BASE_TYPES = {
    "enum": (0x00, "B", 0xFF),
    "sint8": (0x01, "b", 0x7F),
    "uint8": (0x02, "B", 0xFF),
    "sint16": (0x83, "h", 0x7FFF),
    "uint16": (0x84, "H", 0xFFFF),
    "sint32": (0x85, "i", 0x7FFFFFFF),
    "uint32": (0x86, "I", 0xFFFFFFFF),
    "uint32z": (0x8C, "I", 0x00000000),
}

_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)


def fit_crc(data: bytes, crc: int = 0) -> int:
    """The FIT CRC-16 (as in the SDK's FitCRC_Get16), nibble by nibble."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


def fit_time(value: dt.datetime | float | int) -> int:
    """A FIT date_time (seconds since 1989-12-31 UTC) from an aware datetime or a Unix time."""
    if isinstance(value, dt.datetime):
        value = value.timestamp()
    return int(value) - FIT_EPOCH


def enum_value(type_name: str, name: str | None) -> int | None:
    """The number of a FIT profile enum value by its fitdecode name ('running' -> 1)."""
    if name is None:
        return None
    for number, label in (profile.FIELD_TYPES[type_name].enum or {}).items():
        if label == name:
            return number
    raise ValueError(f"unknown FIT {type_name} {name!r}")


class FitEncoder:
    """Collects messages; `to_bytes()` returns the complete file (header, records, CRC)."""

    def __init__(self) -> None:
        self._body = bytearray()
        self._defs: dict[int, tuple[struct.Struct, tuple[int, ...]]] = {}

    def define(self, local_num: int, global_num: int, fields: Sequence[tuple[int, str]]) -> None:
        """A definition message: local message type -> (global message, [(field number, base type)])."""
        if not 0 <= local_num <= 15:
            raise ValueError("local message types are 0..15")
        out = bytearray(struct.pack("<BBBHB", 0x40 | local_num, 0, 0, global_num, len(fields)))
        fmt = "<B"
        invalids = []
        for number, base in fields:
            code, char, invalid = BASE_TYPES[base]
            out += struct.pack("<BBB", number, struct.calcsize("<" + char), code)
            fmt += char
            invalids.append(invalid)
        self._body += out
        self._defs[local_num] = (struct.Struct(fmt), tuple(invalids))

    def write(self, local_num: int, values: Sequence[int | None]) -> None:
        """A data message; None writes the field's invalid value (read back as None)."""
        packer, invalids = self._defs[local_num]
        self._body += packer.pack(local_num, *(inv if v is None else v for v, inv in zip(values, invalids)))

    def to_bytes(self) -> bytes:
        header = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(self._body), b".FIT")
        header += struct.pack("<H", fit_crc(header))
        data = header + bytes(self._body)
        return data + struct.pack("<H", fit_crc(data))


# Local message numbers used by encode_activity.
_FILE_ID, _RECORD, _SESSION, _ACTIVITY = 0, 1, 2, 3


def encode_activity(
    *,
    start_utc: dt.datetime,
    time_s: Sequence[int],
    heartrate: Sequence[int | None] | None = None,
    distance_m: Sequence[float | None] | None = None,
    altitude_m: Sequence[float | None] | None = None,
    latlng: Sequence[Sequence[float] | None] | None = None,
    sport: str = "running",
    sub_sport: str | None = "generic",
    local_offset_s: int | None = None,
    moving_time: float | None = None,
    total_ascent: float | None = None,
    manufacturer: int = 255,  # 'development'
    product: int = 0,
    serial_number: int = 1,
) -> bytes:
    """A FIT activity file from streams (Strava stream layout: seconds since start, bpm, metres).

    `local_offset_s` becomes the activity message's local_timestamp (= timestamp + offset),
    which is how a watch records the local time of day.
    """
    n = len(time_s)
    if n == 0:
        raise ValueError("an activity needs at least one sample")
    start = fit_time(start_utc)
    enc = FitEncoder()
    enc.define(_FILE_ID, 0, [(0, "enum"), (1, "uint16"), (2, "uint16"), (3, "uint32z"), (4, "uint32")])
    enc.write(_FILE_ID, [4, manufacturer, product, serial_number, start])  # type 4 = activity

    enc.define(_RECORD, 20, [(253, "uint32"), (0, "sint32"), (1, "sint32"), (2, "uint16"), (3, "uint8"),
                             (5, "uint32")])
    hr_max = 0
    hr_sum = hr_n = 0
    pack = enc._defs[_RECORD][0].pack
    body = enc._body
    semi = 2**31 / 180.0
    for i in range(n):
        lat = lon = None
        if latlng is not None and latlng[i] is not None:
            lat = int(round(latlng[i][0] * semi))
            lon = int(round(latlng[i][1] * semi))
        alt = altitude_m[i] if altitude_m is not None else None
        alt_raw = int(round((alt + 500.0) * 5.0)) if alt is not None else None
        if alt_raw is not None and not 0 <= alt_raw < 0xFFFF:
            alt_raw = None
        hr = heartrate[i] if heartrate is not None else None
        if hr:
            hr_max = max(hr_max, hr)
            hr_sum += hr
            hr_n += 1
        d = distance_m[i] if distance_m is not None else None
        body += pack(
            _RECORD,
            start + int(time_s[i]),
            0x7FFFFFFF if lat is None else lat,
            0x7FFFFFFF if lon is None else lon,
            0xFFFF if alt_raw is None else alt_raw,
            0xFF if not hr else int(hr),
            0xFFFFFFFF if d is None else int(round(d * 100.0)),
        )
    end = start + int(time_s[-1])
    elapsed = int(time_s[-1]) - 0
    total_distance = None
    if distance_m is not None:
        ds = [d for d in distance_m if d is not None]
        total_distance = max(ds) if ds else None
    sport_num = enum_value("sport", sport)
    sub_num = enum_value("sub_sport", sub_sport) if sub_sport else 0

    enc.define(_SESSION, 18, [(253, "uint32"), (2, "uint32"), (7, "uint32"), (8, "uint32"), (9, "uint32"),
                              (5, "enum"), (6, "enum"), (16, "uint8"), (17, "uint8"), (22, "uint16"),
                              (0, "enum"), (1, "enum"), (254, "uint16")])
    timer = moving_time if moving_time is not None else elapsed
    enc.write(_SESSION, [
        end, start, elapsed * 1000, int(round(timer * 1000)),
        None if total_distance is None else int(round(total_distance * 100)),
        sport_num, sub_num,
        int(round(hr_sum / hr_n)) if hr_n else None, hr_max or None,
        None if total_ascent is None else int(round(total_ascent)),
        8, 1, 0,  # event session, event_type stop, message_index 0
    ])

    enc.define(_ACTIVITY, 34, [(253, "uint32"), (0, "uint32"), (1, "uint16"), (2, "enum"), (3, "enum"),
                               (4, "enum"), (5, "uint32")])
    enc.write(_ACTIVITY, [
        end, int(round(timer * 1000)), 1, 0, 26, 1,  # manual, event activity, event_type stop
        None if local_offset_s is None else end + int(local_offset_s),
    ])
    return enc.to_bytes()
