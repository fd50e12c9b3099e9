"""Every default of the fleet monitor (`ionq-backends serve`), in one place."""

from __future__ import annotations

from typing import Final

# The extra that carries the monitor's dependencies; named in the one-line error without it.
EXTRA: Final = "ionq-backends[service]"


# Seconds between round starts. The README asks for 10 s or more against the live API for the
# whole fleet; 60 s is six requests a minute on v0.4.
DEFAULT_INTERVAL: Final = 60.0
MIN_LIVE_INTERVAL: Final = 10.0

# History: the SQLite file (relative to the working directory), how long rows are kept, how often
# old rows are pruned, and the width of one stored sample bucket.
DEFAULT_DB_PATH: Final = "ionq-backends-history.sqlite3"
DEFAULT_RETENTION: Final = "30d"
PRUNE_EVERY: Final = 3600.0
SAMPLE_SECONDS: Final = 60
# Writes queued behind a slow disk before new rounds are dropped (and counted) instead of queued:
# memory stays bounded even if the disk stalls for hours.
MAX_PENDING_WRITES: Final = 256

# /api/history: the widest span one query may ask for, the default span, the most points a
# series is downsampled to, the steps it may be downsampled by (seconds), and the most events.
MAX_HISTORY_SPAN: Final = 400 * 86400.0
DEFAULT_HISTORY_SPAN: Final = 86400.0
MAX_POINTS: Final = 400
NICE_STEPS: Final = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
)  # fmt: skip
MAX_EVENTS: Final = 500
MAX_NAME_LENGTH: Final = 200

# IonQ's endpoints (`_ionq_api`): failed upstream reads remembered at once, each answered as
# failed for one interval; past this many, the oldest is forgotten first.
MAX_FAILED_READS: Final = 1024

# /healthz: unhealthy when every backend failed this many rounds in a row, or when no round has
# ended for this many intervals (plus the client's timeout, which a slow round may use up).
UNHEALTHY_FAILED_ROUNDS: Final = 3
STALLED_INTERVALS: Final = 3.0

# Characterizations: fetched at start and when a backend's `characterization_id` changes (or its
# `last_updated` when it has no id), at most this often (s) per backend on `last_updated` alone,
# and retried this long (s) after a failed fetch.
CHARACTERIZATION_MIN_REFRESH: Final = 600.0
CHARACTERIZATION_RETRY: Final = 300.0

# Server-sent events: comment pings keep proxies from closing an idle stream; a client whose
# socket has not taken a write for SSE_SEND_TIMEOUT seconds is dropped (aiohttp-sse aborts it);
# browsers reconnect after SSE_RETRY_MS.
SSE_PING_INTERVAL: Final = 15.0
SSE_SEND_TIMEOUT: Final = 30.0
SSE_RETRY_MS: Final = 3000

# Prometheus: buckets of the round-duration histogram, in seconds.
ROUND_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# Seconds the server waits for open requests when it stops (SSE streams end at once on shutdown).
SHUTDOWN_TIMEOUT: Final = 5.0

# Headers on every answer. No inline script or style anywhere: the page's JS and CSS are files.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

LOGGER_NAME: Final = "ionq_backends.service"
# How long a history write waits for a lock another process holds (it says so when it starts).
HISTORY_LOCK_WAIT: Final = 30.0
