"""Open the demo's runs in the Dagster UI, check them over GraphQL and take a screenshot.

    uv run trainsmart demo                                  # first: writes data/demo
    .venv/bin/python scripts/screenshot_dagster_ui.py       # -> docs/dagster-ui-demo.png
    .venv/bin/python scripts/screenshot_dagster_ui.py --page /runs --out /tmp/runs.png

It starts the very command `trainsmart demo` prints (`dagster dev` on the demo's own
DAGSTER_HOME, by absolute paths) with `-p PORT` added, in an environment without the venv
(no VIRTUAL_ENV, its bin/ off PATH), as a newcomer types it; waits for the code location;
asks GraphQL for the latest materialization of a few assets and for the runs (fails if
any is missing); screenshots --page in headless Chromium; stops dagster dev again.
Needs /usr/bin/chromium (Debian: `apt-get install -y chromium`) or --chromium PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot_report import find_chromium, screenshot, trim_bottom  # noqa: E402

ASSETS = ("strava/activities", "main/activities", "main/weekly_training_summary", "main/training_flags")

ASSET_QUERY = """query ($path: [String!]!) { assetOrError(assetKey: {path: $path}) {
  __typename ... on Asset { assetMaterializations(limit: 1) { timestamp runId } } } }"""
RUNS_QUERY = """{ runsOrError(limit: 20) { __typename ... on Runs { results { runId jobName status } } } }"""
LOCATIONS_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


class _Url(str):
    """A URL where screenshot() expects a file path (it calls .absolute().as_uri())."""

    def absolute(self):
        return self

    def as_uri(self) -> str:
        return str(self)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer = json.load(resp)
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL error: {answer['errors']}")
    return answer["data"]


def without_venv(environ: dict[str, str]) -> dict[str, str]:
    """The caller's environment as if the venv had never been activated."""
    env = dict(environ)
    venv_bin = str(Path(sys.executable).parent)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
                                  if p and Path(p).absolute() != Path(venv_bin).absolute())
    return env


def wait_for_location(base: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"dagster dev exited with {proc.returncode} before the UI was up.")
        try:
            data = graphql(base, LOCATIONS_QUERY)["workspaceOrError"]
            entries = data.get("locationEntries", [])
            errors = [e for e in entries if e["locationOrLoadError"]
                      and e["locationOrLoadError"]["__typename"] == "PythonError"]
            if errors:
                raise SystemExit(f"The code location failed to load: {errors[0]['locationOrLoadError']['message']}")
            if entries and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries):
                return
            last = f"locations {[(e['name'], e['loadStatus']) for e in entries]}"
        except (OSError, RuntimeError) as exc:
            last = str(exc)
        time.sleep(1)
    raise SystemExit(f"The Dagster UI was not ready after {timeout:.0f} s ({last}).")


def check_demo_runs(base: str) -> list[str]:
    """The latest materialization of each asset and the demo's run; a SystemExit if any is missing."""
    lines, missing = [], []
    for key in ASSETS:
        answer = graphql(base, ASSET_QUERY, {"path": key.split("/")})["assetOrError"]
        mats = answer.get("assetMaterializations") or []
        if not mats:
            missing.append(key)
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(mats[0]["timestamp"]) / 1000))
        lines.append(f"{key}: last materialized {when} by run {mats[0]['runId'][:8]}")
    runs = graphql(base, RUNS_QUERY)["runsOrError"].get("results", [])
    for run in runs:
        lines.append(f"run {run['runId'][:8]} {run['jobName']} {run['status']}")
    if not any(r["jobName"] in ("sync_and_build", "build_models") and r["status"] == "SUCCESS" for r in runs):
        missing.append("a successful sync_and_build (or build_models) run")
    if missing:
        raise SystemExit(f"Not in the UI: {', '.join(missing)}. Run `trainsmart demo` first.")
    return lines


def stop(proc: subprocess.Popen) -> None:
    """Stop dagster dev and its children (webserver, daemon, code server): its own process group."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, default=ROOT / "data" / "demo", help="the demo's TRAINSMART_HOME")
    p.add_argument("--port", type=int, help="web UI port (default: a free one)")
    p.add_argument("--page", default="/locations/trainsmart/asset-groups/marts",
                   help="UI path to screenshot (e.g. /runs, /assets)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "dagster-ui-demo.png")
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--height", type=int, default=1000)
    p.add_argument("--wait", type=int, default=15000, help="ms of page time before the shot (JS app)")
    p.add_argument("--timeout", type=float, default=240, help="seconds to wait for the code location")
    p.add_argument("--chromium", help="path to the Chromium binary")
    args = p.parse_args(argv)
    chromium = find_chromium(args.chromium)

    home = args.home.absolute()
    if not (home / "dagster").is_dir():
        raise SystemExit(f"No Dagster home under {home}; run `trainsmart demo` first.")
    os.environ["TRAINSMART_HOME"] = str(home)
    os.environ["TRAINSMART_DB"] = str(home / "training.duckdb")
    from pipelines.config import load_settings
    from pipelines.sandbox.demo import dagster_ui_command

    ui_env, ui_argv = dagster_ui_command(load_settings())
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = without_venv(os.environ) | ui_env
    log = tempfile.NamedTemporaryFile(prefix="trainsmart-dagster-dev-", suffix=".log", delete=False)
    print(f"Starting: {' '.join(f'{k}={v}' for k, v in ui_env.items())} {' '.join(ui_argv)} -p {port}"
          f" (log: {log.name})", file=sys.stderr)
    proc = subprocess.Popen([*ui_argv, "-p", str(port)], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_location(base, proc, args.timeout)
        for line in check_demo_runs(base):
            print(line, file=sys.stderr)
        graphql(base, "mutation { setNuxSeen }")  # the newsletter dialog of a new instance: "Skip"
        with tempfile.TemporaryDirectory(prefix="trainsmart-chromium-wrap-") as tmp:
            # screenshot() takes the shot at the load event; the UI fills in by JS after it
            wrapper = Path(tmp) / "chromium"
            wrapper.write_text(f'#!/bin/sh\nexec "{chromium}" --virtual-time-budget={args.wait} '
                               f'--run-all-compositor-stages-before-draw "$@"\n')
            wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
            screenshot(_Url(base + args.page), args.out, str(wrapper), args.width, args.height)
        trim_bottom(args.out, background=(255, 255, 255))
    finally:
        stop(proc)
        log.close()
    Path(log.name).unlink()  # kept only when something failed
    print(f"Screenshot written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
