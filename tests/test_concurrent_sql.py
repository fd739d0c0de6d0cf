"""Ad hoc SQL while a sync is writing: every query answers, and the sync is not disturbed."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines.config import load_settings
from pipelines.strava.sync import run_sync
from tests.cli import trainsmart


def test_twenty_queries_during_a_running_sync(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    settings = load_settings()
    assert run_sync(settings).complete  # a first snapshot exists
    # new upstream history, so that the next sync has real work: a full relist and many streams
    for activity in fake.activities()[:150]:
        if activity.get("has_heartrate"):
            fake.edit_activity(int(activity["id"]), elapsed_time=activity["elapsed_time"] + 1)

    # the sync in a fresh interpreter of its own, in the background; the queries one after
    # another, each its own `trainsmart sql` process (tests/cli.py)
    sync = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "sync", "--full"], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    answers, during = [], 0
    for i in range(20):
        q = trainsmart("sql", "select count(*) as n from raw.activities where deleted_at is null", timeout=120)
        answers.append(q)
        during += sync.poll() is None
    out, err = sync.communicate(timeout=600)
    assert sync.returncode == 0, err[-3000:]
    assert all(q.returncode == 0 for q in answers), [q.stderr for q in answers if q.returncode]
    assert all(str(len(fake.activities())) in q.stdout for q in answers)
    assert during >= 15, f"only {during} of 20 queries ran while the sync was writing"
