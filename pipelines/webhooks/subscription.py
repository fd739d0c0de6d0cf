"""`trainsmart webhook subscribe --callback URL` and `webhook status`: the push subscription
of the deployment's Strava application, through stravalib (Strava allows one per application).

Creating it makes Strava call the callback's handshake at once, so `trainsmart webhook
serve` must already be reachable at that URL.
"""

from __future__ import annotations

import datetime as dt

from pipelines.config import ConfigError, Settings
from pipelines.strava.errors import StravaError
from pipelines.webhooks.store import EventStore


def _client(settings: Settings):
    from stravalib import Client

    from pipelines.strava.api import RebasedSession

    if not settings.strava_configured:
        raise ConfigError("STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET are not set: webhooks belong to a Strava API application.")
    return Client(requests_session=RebasedSession(settings.strava_base_url))


def subscribe(settings: Settings, callback_url: str) -> dict:
    from stravalib import exc

    if not settings.strava_webhook_verify_token:
        raise ConfigError("Set STRAVA_WEBHOOK_VERIFY_TOKEN (any secret string) for both `webhook serve` and `webhook subscribe`.")
    client = _client(settings)
    try:
        created = client.create_subscription(int(settings.strava_client_id), settings.strava_client_secret,
                                             callback_url, settings.strava_webhook_verify_token)
    except exc.Fault as e:
        reason = _reason(e)
        raise StravaError(f"Strava refused the subscription ({reason}); check that `trainsmart webhook serve` "
                          f"answers at {callback_url} and uses the same STRAVA_WEBHOOK_VERIFY_TOKEN.") from None
    subscription = {"id": int(created.id), "callback_url": callback_url,
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    EventStore(settings.home).save_subscription(subscription)
    return subscription


def status_lines(settings: Settings) -> list[str]:
    store = EventStore(settings.home)
    ours = store.subscription()
    lines = []
    try:
        listed = list(_client(settings).list_subscriptions(int(settings.strava_client_id), settings.strava_client_secret))
    except Exception as e:  # status still shows the local side
        listed = None
        lines.append(f"Strava: could not list the push subscriptions ({_reason(e)}).")
    if listed is not None:
        if not listed:
            lines.append("Strava: no push subscription for this application (`trainsmart webhook subscribe --callback URL`).")
        for sub in listed:
            mine = " (this deployment's)" if ours and ours.get("id") == sub.id else ""
            lines.append(f"Strava: subscription {sub.id}{mine} -> {sub.callback_url}")
    if ours:
        lines.append(f"Recorded here: subscription {ours['id']} -> {ours['callback_url']} since {ours.get('created_at')}")
    counts = store.counts()
    last = store.last_received()
    lines.append(f"Events: {counts.get('pending', 0)} pending, {counts.get('applied', 0)} applied, "
                 f"{counts.get('ignored', 0)} ignored"
                 + (f"; last received {dt.datetime.fromtimestamp(last):%Y-%m-%d %H:%M}" if last else ""))
    return lines


def _reason(e: Exception) -> str:
    response = getattr(e, "response", None)
    try:
        body = response.json()
        errors = body.get("errors") or []
        if errors and isinstance(errors[0], dict):
            return f"HTTP {response.status_code}: {errors[0].get('field', '')} {errors[0].get('code', '')}".strip()
        return f"HTTP {response.status_code}: {body.get('message', '')}".strip()
    except Exception:
        return str(e).split("\n")[0][:200]
