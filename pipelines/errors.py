"""The one kind of error a user can act on, and how it becomes the CLI's last line.

Every exception whose message is already a plain sentence for the user (bad configuration,
a Strava refusal, a busy database, an input that cannot be imported...) subclasses
`UserError`. The CLI prints such a message as it is; when the error happened inside a
Dagster run, only its class name and its text come back (Dagster serializes the
exception as "module.path.ClassName: text"), so the runner recognizes our classes by name
(`user_error_names()`) and drops that prefix (`strip_class_prefix()`). CONTRACT.md: the last stderr line is one plain sentence,
no class name, no module path, no traceback.
"""

from __future__ import annotations

import re


class UserError(Exception):
    """A problem the user can fix; the message is one plain sentence (no class name, no traceback)."""


def user_error_names() -> set[str]:
    """Class names of every UserError subclass defined so far (they are all imported by a run)."""
    names, todo = set(), [UserError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def one_line(text: str) -> str:
    """Whitespace (newlines included) folded, so a message is exactly one line."""
    return " ".join((text or "").split())


def strip_class_prefix(message: str, cls_name: str) -> str:
    """'pipelines.strava.errors.StravaError: text' (or 'StravaError: text') -> 'text'."""
    return re.sub(rf"^\s*(?:[A-Za-z_]\w*\.)*{re.escape(cls_name)}:\s*", "", message or "", count=1)


def unexpected(message: str, cls_name: str) -> str:
    """The sentence for an error we did not foresee: its own text, where to look, no module path."""
    text = one_line(strip_class_prefix(message, cls_name)) or f"an unexpected {cls_name}"
    return f"Unexpected error: {text} (run with --verbose for details; the log is under TRAINSMART_HOME/logs)."


class SyncStopped(Exception):
    """A sync stopped early on purpose (rate budget spent, a long Retry-After, transient faults
    outlasted the retries). Everything fetched so far is committed; the next run goes on.
    CLI exit code 75."""
