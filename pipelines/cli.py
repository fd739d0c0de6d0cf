"""`trainsmart`: the command line. One function per verb; each returns the exit code.

Exit codes (CONTRACT.md): 0 done; 75 stopped early on purpose (rate budget spent or
transient faults), the next run goes on; anything else: the last stderr line says what
to fix. No tracebacks unless --verbose.
"""

from __future__ import annotations

import argparse
import gc
import sys
import traceback
from pathlib import Path

from pipelines import progress
from pipelines.config import ConfigError, Settings, load_settings
from pipelines.errors import UserError, one_line, unexpected

EXIT_STOPPED_EARLY = 75


def fail(message: str, code: int = 1) -> int:
    """Print the one plain line (CONTRACT.md) and return the exit code."""
    print(one_line(message), file=sys.stderr)
    return code


# -- verbs ----------------------------------------------------------------------------------
def cmd_sync(args, settings: Settings) -> int:
    from pipelines.runner import run_job

    if args.athlete:
        from pipelines.roster import load_roster

        roster = load_roster(settings)
        if roster is None:
            raise ConfigError("--athlete needs a roster: add the athlete first with `trainsmart athletes add KEY`.")
        roster.get(args.athlete)  # an unknown key is one plain line before anything runs
    from pipelines.garmin.club_sync import garmin_source

    garmin_on, garmin_skipped = garmin_source(settings, args.athlete)  # with a roster: the athletes' key files
    sources = {"Strava": settings.strava_configured, "Garmin": garmin_on}
    if not any(sources.values()):
        return fail("No source is configured: set STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET (README, 'Connect "
                    "Strava') or GARMIN_PERSONAL_API_KEY (README, 'Connect Garmin') in .env, or use "
                    "`trainsmart import-export`.")
    if not sources["Strava"]:
        print("Strava skipped: STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET are not set.", file=sys.stderr)
    if not sources["Garmin"]:
        print(garmin_skipped, file=sys.stderr)
    hosts = {"Strava": settings.strava_base_url, "Garmin": settings.garmin_base_url}
    names = " and ".join(f"{name} ({hosts[name]})" for name, on in sources.items() if on)
    print(f"Syncing {names} into {settings.db_path}", file=sys.stderr)
    strava = {"config": {"full": bool(args.full), "athlete": args.athlete}}
    garmin = ({"config": {"full": bool(args.full), "athlete": args.athlete}} if sources["Garmin"]
              else {"config": {"full": False, "skip": True}})
    outcome = run_job(settings, "sync_and_build", run_config={"ops": {"strava_sync": strava, "garmin_sync": garmin}},
                      verbose=args.verbose)
    synced = {name: outcome.materializations.get(f"{name.lower()}/activities") for name, on in sources.items() if on}
    for name, sync in synced.items():
        if sync and sync.get("complete", True):
            print(_sync_line(name, sync), file=sys.stderr)
    clubs = [synced.get("Strava") or {}, synced.get("Garmin") or {}]
    for line in [line for club in clubs for line in club.get("athlete_lines") or []]:  # a club run: each athlete
        print(f"  {line}", file=sys.stderr)
    if not outcome.success:
        return fail(outcome.error or "The sync failed; see the log under TRAINSMART_HOME/logs.")
    stopped = [f"{name}: {sync.get('message')}" for name, sync in synced.items() if sync and not sync.get("complete", True)]
    if stopped:
        print("Models built from what was fetched; query them with `trainsmart sql`.", file=sys.stderr)
        return fail(f"Stopped early ({'; '.join(stopped)}).", EXIT_STOPPED_EARLY)
    failed = [line for club in clubs for line in club.get("athletes_failed") or []]
    if failed:
        print("Models built; query them with `trainsmart sql`.", file=sys.stderr)
        for line in failed:
            print(f"Failed: {line}", file=sys.stderr)
        who = {line.split(":")[0] for line in failed}  # the lines start with the athlete's key
        everyone = {line.split(":")[0] for club in clubs for line in club.get("athlete_lines") or []}
        return fail(f"{len(who)} of {len(everyone)} athletes failed (above); the others are synced.")
    print("Models built; query them with `trainsmart sql`.", file=sys.stderr)
    return 0


def _sync_line(name: str, sync: dict) -> str:
    """One summary line per source."""
    line = (f"{sync.get('message')}: {sync.get('requests')} requests, {sync.get('activities_new')} new, "
            f"{sync.get('activities_updated')} updated, {sync.get('activities_deleted')} deleted")
    if name == "Garmin":
        line += f", {sync.get('files_fetched')} FIT files, {sync.get('wellness_days')} wellness days"
        if sync.get("files_unreadable"):
            line += f" (unreadable, landed without a stream: {sync.get('files_unreadable')})"
        return line + "."
    return line + f", {sync.get('streams_fetched')} streams."


def _import_then_build(args, settings: Settings, job_name: str, asset: str, op_name: str) -> int:
    """Shared by import-export and import-files: the import job (the import asset, then the
    dbt models), its summary lines, then the build line."""
    import os

    from pipelines.runner import run_job

    path = os.path.abspath(os.path.expanduser(args.path))  # absolute in the run config, re-runnable from the UI
    config = {"ops": {op_name: {"config": {"path": path}}}}
    outcome = run_job(settings, job_name, run_config=config, verbose=args.verbose)
    imported = outcome.materializations.get(asset)
    for line in (imported or {}).get("lines") or []:
        print(line, file=sys.stderr)
    if not outcome.success:
        return fail(outcome.error or "The import failed; see the log under TRAINSMART_HOME/logs.")
    return _models_built(settings)


def cmd_import_export(args, settings: Settings) -> int:
    return _import_then_build(args, settings, "import_export_and_build", "imports/strava_export",
                              "imports__strava_export")


def cmd_import_files(args, settings: Settings) -> int:
    return _import_then_build(args, settings, "import_files_and_build", "imports/device_files",
                              "imports__device_files")


def cmd_build(args, settings: Settings) -> int:
    from pipelines.runner import run_job

    if args.engine == "spark":
        return _build_on_spark(settings, verbose=args.verbose)

    outcome = run_job(settings, "build_models", verbose=args.verbose)  # the job's own config: scope full
    if not outcome.success:
        return fail(outcome.error or "The build failed; see the log under TRAINSMART_HOME/logs.")
    return _models_built(settings)


def _build_on_spark(settings: Settings, verbose: bool) -> int:
    """`build --engine spark`: export the raw tables, then dbt on Spark; the marts land as Parquet."""
    from pipelines.exports.spark_build import build_on_spark, spark_dir

    print("Exporting the raw tables, then building on Spark (a few minutes) ...", file=sys.stderr)
    build = build_on_spark(settings)
    if not build.ok:
        if verbose:
            print(build.output, file=sys.stderr)
        return fail(f"The Spark build failed; its dbt log is under {spark_dir(settings) / 'logs'}.")
    print(f"Marts built on Spark in {build.seconds:.0f} s: Parquet under {build.marts_dir}/<mart>/; "
          f"read them with DuckDB's read_parquet.", file=sys.stderr)
    return 0


def _models_built(settings: Settings) -> int:
    """The last line of a successful build (build, import-export, import-files)."""
    print(f"Models built in {settings.db_path}; query them with `trainsmart sql`.", file=sys.stderr)
    return 0


def cmd_sql(args, settings: Settings) -> int:
    from pipelines import adhoc_sql

    if args.query:
        return adhoc_sql.run_query(settings, " ".join(args.query))
    return adhoc_sql.interactive_shell(settings)


def cmd_report(args, settings: Settings) -> int:
    from pathlib import Path

    from pipelines.report.club import run_weekly

    # one athlete from the environment as before; with a roster every athlete, then the coach digest
    run = run_weekly(settings, week=args.week, out_dir=Path(args.out), send=args.send, force=args.force,
                     athlete_key=args.athlete)
    lines = run.lines()
    for line in lines[:-1]:
        print(line, file=sys.stderr)
    if lines:
        print(lines[-1], file=sys.stderr)
    return run.exit_code


def cmd_status(args, settings: Settings) -> int:
    from pipelines.status import print_status

    return print_status(settings, athlete_key=args.athlete)


def cmd_auth(args, settings: Settings) -> int:
    from pipelines.strava.auth import authorize, store_refresh_token

    if args.athlete is None:
        if args.refresh_token:
            raise ConfigError("--refresh-token goes with --athlete KEY; for one athlete set STRAVA_REFRESH_TOKEN instead.")
        authorize(settings, port=args.port, open_browser=not args.no_browser)
        return 0
    from pipelines.roster import load_roster, save_roster

    roster = load_roster(settings)
    if roster is None:
        raise ConfigError("--athlete needs a roster: add the athlete first with `trainsmart athletes add KEY`.")
    athlete = roster.get(args.athlete)
    token_file = athlete.strava_token_file(settings)
    if args.refresh_token:
        token = store_refresh_token(settings, args.refresh_token, token_file)
    else:
        token = authorize(settings, port=args.port, open_browser=not args.no_browser, token_file=token_file)
    clash = next((a.key for a in roster.athletes if a.key != athlete.key and token.athlete_id is not None
                  and a.strava_athlete_id == token.athlete_id), None)
    if clash:
        token_file.unlink(missing_ok=True)
        raise ConfigError(f"That Strava account (athlete {token.athlete_id}) is already connected as '{clash}'.")
    athlete.strava_athlete_id = token.athlete_id
    save_roster(roster)
    print(f"Connected {athlete.key} to Strava athlete {token.athlete_id}; the token is in {token_file} "
          "(readable only by you).", file=sys.stderr)
    return 0


def cmd_athletes(args, settings: Settings) -> int:
    """The roster of a club deployment (pipelines/roster.py): list, add, remove."""
    from pipelines.roster import Athlete, Roster, load_roster, roster_path, save_roster

    roster = load_roster(settings)
    if args.action == "list":
        if roster is None:
            print(f"No roster ({roster_path(settings)}): one athlete from the environment.", file=sys.stderr)
            return 0
        for a in roster.athletes:
            strava = "authorized" if a.strava_token_file(settings).exists() else "not authorized"
            garmin = ("key file set" if a.garmin_key_file and Path(a.garmin_key_file).expanduser().exists()
                      else "no key file")
            print(f"{a.key:<16} {a.name:<24} {a.timezone:<20} Strava {strava}, Garmin {garmin}, "
                  f"reports to {', '.join(a.report_to) or 'nobody'}")
        if roster.coach_report_to:
            print(f"coach digest to {', '.join(roster.coach_report_to)}")
        return 0
    if not args.key:
        raise ConfigError(f"athletes {args.action} needs the athlete's KEY.")
    roster = roster or Roster(roster_path(settings))
    if args.action == "add":
        if any(a.key == args.key for a in roster.athletes):
            raise ConfigError(f"Athlete '{args.key}' is already in the roster {roster.path}.")
        roster.athletes.append(Athlete(key=args.key, name=args.name or args.key, timezone=args.timezone,
                                       report_to=[a.strip() for a in (args.report_to or "").split(",") if a.strip()],
                                       garmin_key_file=args.garmin_key_file))
        save_roster(roster)
        load_roster(settings)  # the same checks as a hand-edited file: a bad value is refused now
        print(f"Added {args.key} to {roster.path}; connect Strava with `trainsmart auth --athlete {args.key}`.",
              file=sys.stderr)
        return 0
    roster.get(args.key)
    roster.athletes = [a for a in roster.athletes if a.key != args.key]
    save_roster(roster)
    print(f"Removed {args.key} from {roster.path} (their data stays in the database).", file=sys.stderr)
    return 0


def cmd_webhook(args, settings: Settings) -> int:
    """serve: the event receiver; subscribe: create the push subscription; status: both sides."""
    from pipelines.interrupts import stop_on_interrupt
    from pipelines.webhooks import subscription
    from pipelines.webhooks.receiver import Receiver
    from pipelines.webhooks.store import EventStore

    if args.action == "serve":
        if not settings.strava_webhook_verify_token:
            raise ConfigError("Set STRAVA_WEBHOOK_VERIFY_TOKEN (any secret string) before serving the webhook receiver.")
        receiver = Receiver(EventStore(settings.home), settings.strava_webhook_verify_token, args.host, args.port)
        stop_on_interrupt()  # Ctrl-C and kill stop it even as a script's background job
        try:  # the line inside: a Ctrl-C sent as soon as it is read can land while print returns
            print(f"Receiving Strava events at {receiver.url} (Ctrl-C stops); the next sync applies them.",
                  file=sys.stderr, flush=True)
            receiver.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            receiver.stop()
        return 0
    if args.action == "subscribe":
        if not args.callback:
            raise ConfigError("webhook subscribe needs --callback URL (where `trainsmart webhook serve` answers).")
        created = subscription.subscribe(settings, args.callback)
        print(f"Subscribed: Strava pushes events to {created['callback_url']} (subscription {created['id']}).",
              file=sys.stderr)
        return 0
    for line in subscription.status_lines(settings):
        print(line)
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from pipelines.sandbox.demo import run_demo

    return run_demo(export=args.export, club=args.club, verbose=args.verbose)


def cmd_export_raw(args, settings: Settings) -> int:
    from pipelines.exports import export_raw

    for line in export_raw(settings, Path(args.dir)).lines():
        print(line, file=sys.stderr)
    return 0


# -- wiring ---------------------------------------------------------------------------------
def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-16, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trainsmart", description="Train smarter: Strava -> DuckDB -> weekly training picture.")
    parser.add_argument("--verbose", action="store_true", help="show Dagster and dbt logs and tracebacks")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show Dagster and dbt logs and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser

    def add_parser(name, **kwargs):
        return add(name, parents=[common], **kwargs)

    sub.add_parser = add_parser

    p = sub.add_parser("sync", help="pull from Strava, then build the models")
    p.add_argument("--full", action="store_true", help="relist every activity (reconcile edits and deletions)")
    p.add_argument("--athlete", help="only this roster athlete (club deployments)")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("import-export", help="import a Strava bulk export (zip or folder), then build the models")
    p.add_argument("path", help="the export zip from Strava (Settings > My Account > Download your data), or its folder")
    p.set_defaults(func=cmd_import_export)

    p = sub.add_parser("import-files", help="import a folder of FIT/GPX/TCX files, then build the models")
    p.add_argument("path", help="a folder of .fit/.gpx/.tcx files (also .gz) from a watch or another platform")
    p.set_defaults(func=cmd_import_files)

    p = sub.add_parser("build", help="build the dbt models only")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="spark: the same models on Spark over the raw Parquet export (needs the spark extra and Java)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("export-raw", help="the raw tables as Parquet, hive-partitioned by athlete, for other engines")
    p.add_argument("dir", help="the folder to (re)place with the export (new, empty, or an earlier export)")
    p.set_defaults(func=cmd_export_raw)

    p = sub.add_parser("sql", help="run ad hoc SQL (or open a shell); works while a sync runs")
    p.add_argument("query", nargs="*", help="the SQL; omit for an interactive shell")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("report", help="render the weekly report (and email it once with --send)")
    p.add_argument("--week", type=_date, default=None, help="a date in the week (YYYY-MM-DD); default: the last complete week")
    p.add_argument("--out", default="out", help="folder for the .eml, .html and PNGs (default out/)")
    p.add_argument("--send", action="store_true", help="email it (SMTP_* and REPORT_* settings), once per week")
    p.add_argument("--force", action="store_true", help="with --send: send again even if already sent")
    p.add_argument("--athlete", help="only this roster athlete's report (club deployments; no coach digest)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("status", help="what is synced, the last runs, the Strava rate budget left")
    p.add_argument("--athlete", help="only this roster athlete's sync state (club deployments)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("auth", help="authorize trainsmart with Strava (OAuth, localhost redirect)")
    p.add_argument("--port", type=int, default=8723, help="local port for the OAuth redirect (default 8723)")
    p.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    p.add_argument("--athlete", help="a roster athlete's KEY (club deployments)")
    p.add_argument("--refresh-token", help="with --athlete: store a refresh token obtained elsewhere, no browser")
    p.set_defaults(func=cmd_auth)

    p = sub.add_parser("athletes", help="the roster of a club deployment: list, add, remove")
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("key", nargs="?", help="add/remove: the athlete's key (a slug such as anna-m)")
    p.add_argument("--name", help="add: the athlete's name")
    p.add_argument("--timezone", default="UTC", help="add: IANA time zone (default UTC)")
    p.add_argument("--report-to", help="add: comma-separated addresses for the athlete's weekly email")
    p.add_argument("--garmin-key-file", help="add: a file holding the athlete's Garmin Personal API key")
    p.set_defaults(func=cmd_athletes)

    p = sub.add_parser("webhook", help="Strava push events: serve the receiver, subscribe, status")
    p.add_argument("action", choices=["serve", "subscribe", "status"])
    p.add_argument("--host", default="127.0.0.1", help="serve: the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8724, help="serve: the port (default 8724)")
    p.add_argument("--callback", help="subscribe: the public URL of the receiver, ending in /strava/webhook")
    p.set_defaults(func=cmd_webhook)

    p = sub.add_parser("demo", help="run the whole pipeline on the bundled sample athlete")
    p.add_argument("--export", action="store_true", help="use the sample athlete's bulk export instead of the API")
    p.add_argument("--club", action="store_true", help="a coach's deployment: 8 generated athletes on one Strava "
                                                       "application, their reports and the coach's digest")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    finally:
        # The process ends now: skip the final garbage collection of everything Dagster and dbt
        # loaded (about 1-3 s at exit); the interpreter still runs its normal shutdown.
        gc.freeze()


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if sys.stderr.isatty() or args.verbose:
        progress.enable(sys.stderr)
    try:
        settings = load_settings()
        return args.func(args, settings)
    except KeyboardInterrupt:
        return fail("Interrupted; everything committed so far is kept, run the command again to go on.", 130)
    except ConfigError as e:
        return fail(str(e), 2)
    except Exception as e:  # the last line is one sentence; details only with --verbose
        if args.verbose:
            traceback.print_exc()
        if isinstance(e, UserError):
            return fail(str(e))
        return fail(unexpected(str(e), type(e).__name__))


if __name__ == "__main__":
    sys.exit(main())
