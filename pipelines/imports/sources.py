"""Reading an export as a zip or as a folder, safely: names are checked, nothing is extracted.

A zip member is read with `ZipFile.open` (streaming); a member whose name is absolute or
climbs out with `..` is refused and never opened. In a folder, a name that resolves
outside the folder (`..`, absolute, or a symlink pointing out) is refused the same way.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pipelines.imports.common import ImportInputError, crc_of_stream

UNSAFE_REASON = "its path leaves the export folder (absolute or ..); not read"


def unsafe_name(name: str) -> bool:
    """True for a member name that would land outside the folder it is extracted into."""
    if not name or "\x00" in name:
        return True
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        return True
    return any(part == ".." for part in n.split("/"))


@dataclass
class Member:
    name: str  # as named in the export (relative to the export root)
    signature: str  # 'crc32-size' of the stored bytes


class ExportSource:
    """A Strava export given as its zip or as the unpacked folder."""

    def __init__(self, path: Path):
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.root: Path | None = None
        self.prefix = ""  # zip: folder inside the zip that holds activities.csv
        self.refused: list[tuple[str, str]] = []
        self._names: dict[str, zipfile.ZipInfo] = {}
        if not path.exists():
            raise ImportInputError(f"{path} does not exist; give the Strava export zip or its unpacked folder.")
        if path.is_dir():
            self.root = path.resolve()
            if not (self.root / "activities.csv").is_file():
                subs = [p for p in self.root.iterdir() if p.is_dir() and (p / "activities.csv").is_file()]
                if len(subs) == 1:
                    self.root = subs[0].resolve()
                else:
                    raise ImportInputError(
                        f"{path} holds no activities.csv; give the Strava export zip or the folder it unpacks to."
                    )
            return
        if not zipfile.is_zipfile(path):
            raise ImportInputError(f"{path} is neither a zip file nor a folder; give the Strava export zip or its unpacked folder.")
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError) as e:
            raise ImportInputError(f"{path} is a damaged zip file ({e}); download the export again.") from None
        candidates = []
        for info in infos:
            if unsafe_name(info.filename):
                self.refused.append((info.filename, UNSAFE_REASON))
                continue
            if info.is_dir():
                continue
            self._names[info.filename] = info
            if PurePosixPath(info.filename).name == "activities.csv":
                candidates.append(info.filename)
        if not candidates:
            raise ImportInputError(
                f"{path} holds no activities.csv; give the zip Strava sends from "
                "Settings > My Account > Download your data."
            )
        best = min(candidates, key=lambda n: (n.count("/"), n))
        self.prefix = best[: -len("activities.csv")]

    @property
    def label(self) -> str:
        return self.path.name

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def __enter__(self) -> "ExportSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- members

    def member(self, name: str) -> Member | str | None:
        """The member for a name relative to the export root; a refusal reason; or None if absent."""
        if unsafe_name(name):
            return UNSAFE_REASON
        if self.zip is not None:
            info = self._names.get(self.prefix + name)
            if info is None:
                return None
            return Member(name, f"{info.CRC:08x}-{info.file_size}")
        target = self.root / name
        try:
            resolved = target.resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, RuntimeError):
            return "cannot be read"
        if os.path.commonpath([str(resolved), str(self.root)]) != str(self.root):
            return "it points outside the export folder (a link?); not read"
        if not stat.S_ISREG(resolved.stat().st_mode):
            return None
        with open(resolved, "rb") as f:
            return Member(name, crc_of_stream(f))

    def open(self, name: str) -> BinaryIO:
        """A byte stream of a member (call `member()` first: this does not re-check the name)."""
        if self.zip is not None:
            return self.zip.open(self._names[self.prefix + name])
        return open(self.root / name, "rb")

    def exists(self, name: str) -> bool:
        if self.zip is not None:
            return (self.prefix + name) in self._names
        return (self.root / name).is_file()

    def athlete_id_from_name(self) -> int | None:
        """Strava names the export export_<athlete id>.zip."""
        for part in (self.path.name, self.root.name if self.root else ""):
            m = re.match(r"^export_(\d+)(?:\.zip)?$", part)
            if m:
                return int(m.group(1))
        return None
