"""Render a weekly report to HTML and take a screenshot of it in headless Chromium.

    uv run python scripts/screenshot_report.py                       # uses TRAINSMART_DB / TRAINSMART_HOME
    uv run python scripts/screenshot_report.py --db data/demo/training.duckdb --week 2026-11-16
    uv run python scripts/screenshot_report.py --fixture             # the hand-made test warehouse
    uv run python scripts/screenshot_report.py --html out/2026-11-16.html   # an already written report

The report is read from the DB's snapshot (`<db stem>.snapshot.duckdb` beside it), like
`trainsmart report`. --week takes any day of the week (default: the last complete week
before TRAINSMART_AS_OF or today). Output: --out (default docs/report-screenshot.png).
Needs /usr/bin/chromium (Debian: `apt-get install -y chromium`) or --chromium PATH.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def find_chromium(explicit: str | None) -> str:
    for candidate in (explicit, "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("Chromium not found; install it (apt-get install -y chromium) or pass --chromium PATH.")


def screenshot(html_file: Path, png: Path, chromium: str, width: int = 800, height: int = 2400,
               timeout: float = 120) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trainsmart-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
               f"--screenshot={png.absolute()}", f"--window-size={width},{height}",
               html_file.absolute().as_uri()]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not png.exists():
        raise SystemExit(f"Chromium failed ({result.returncode}): {result.stderr.strip()[-500:]}")


def trim_bottom(png: Path, background=(241, 243, 245), margin: int = 24) -> None:
    """Cut the empty page background below the report (the window is taller than the mail), shrink the file."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        w, h = rgb.size
        bottom = h
        px = rgb.load()
        for y in range(h - 1, -1, -1):
            if any(px[x, y] != background for x in range(0, w, 4)):
                bottom = y + 1
                break
        if bottom + margin < h:
            rgb = rgb.crop((0, 0, w, bottom + margin))
        # a 256-colour palette keeps text and charts crisp at about half the size
        rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(png, optimize=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, help="DuckDB file (its snapshot is read); default TRAINSMART_DB")
    p.add_argument("--home", type=Path, help="TRAINSMART_HOME (default from the environment)")
    p.add_argument("--week", help="any day of the week to report (YYYY-MM-DD)")
    p.add_argument("--athlete", type=int, help="athlete id (default: the only / most recent athlete)")
    p.add_argument("--fixture", action="store_true", help="render the hand-made fixture warehouse (tests)")
    p.add_argument("--html", type=Path, help="screenshot this existing report HTML instead of rendering one")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "report-screenshot.png")
    p.add_argument("--report-dir", type=Path, help="keep the rendered report files here (default: a temp dir)")
    p.add_argument("--width", type=int, default=800)
    p.add_argument("--height", type=int, default=6000, help="window height; the empty page below is trimmed")
    p.add_argument("--no-trim", action="store_true", help="keep the full window height")
    p.add_argument("--chromium", help="path to the Chromium binary")
    args = p.parse_args(argv)
    chromium = find_chromium(args.chromium)

    with tempfile.TemporaryDirectory(prefix="trainsmart-report-") as tmp:
        if args.html:
            html_file = args.html
        else:
            if args.fixture:
                from pipelines.sandbox import report_fixture as fixture

                db = Path(tmp) / "fixture" / "training.duckdb"
                fixture.build_fixture_db(db)
                os.environ["TRAINSMART_DB"] = str(db)
                os.environ["TRAINSMART_HOME"] = str(db.parent)
                os.environ["TRAINSMART_AS_OF"] = fixture.AS_OF.isoformat()
            if args.db:
                os.environ["TRAINSMART_DB"] = str(args.db.absolute())
            if args.home:
                os.environ["TRAINSMART_HOME"] = str(args.home.absolute())
            from pipelines.config import load_settings
            from pipelines.report import last_complete_week, render_report, write_report

            settings = load_settings()
            if args.week:
                week = dt.date.fromisoformat(args.week)
            else:
                week = last_complete_week(settings.as_of or dt.date.today())
            rendered = render_report(settings, week, athlete_id=args.athlete)
            out_dir = args.report_dir or Path(tmp) / "report"
            files = write_report(rendered, out_dir)
            html_file = next(f for f in files if f.suffix == ".html")
            print(f"Rendered {rendered.subject!r} into {out_dir}", file=sys.stderr)
        screenshot(html_file, args.out, chromium, args.width, args.height)
        if not args.no_trim:
            trim_bottom(args.out)
    print(f"Screenshot written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
