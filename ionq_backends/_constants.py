"""Every default of ionq-backends, in one place."""

from __future__ import annotations

from typing import Final

VERSION = "0.1.0"  # read by hatch for the package metadata
USER_AGENT: Final = f"ionq-backends/{VERSION}"

# Where and how to reach the API.
DEFAULT_BASE_URL: Final = "https://api.ionq.co"
ENV_API_KEY: Final = "IONQ_API_KEY"
ENV_BASE_URL: Final = "IONQ_BASE_URL"
ENV_LOG: Final = "IONQ_LOG"  # debug | info | warning: the package's log lines on stderr
DEFAULT_API_VERSION: Final = "v0.4"

# Timeouts, in seconds: `timeout=T` means ClientTimeout(total=T, connect=min(10, T), sock_read=T).
DEFAULT_TIMEOUT: Final = 30.0
MAX_CONNECT_TIMEOUT: Final = 10.0

# Concurrency: requests in flight at once for one client, whichever method issued them.
DEFAULT_MAX_CONCURRENCY: Final = 8

# Retries (GET only).
DEFAULT_MAX_RETRIES: Final = 2
BACKOFF_INITIAL: Final = 0.5
BACKOFF_MAX: Final = 8.0
# Each backoff delay is scaled by a factor drawn from [1 - JITTER, 1 + JITTER].
BACKOFF_JITTER: Final = 0.25
DEFAULT_RETRY_AFTER_CAP: Final = 60.0
RETRY_STATUSES: Final = frozenset({408, 409, 429, 500, 502, 503, 504, *range(520, 530)})

# Responses.
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
MAX_REDIRECTS: Final = 3
# How much of a non-JSON error body an exception keeps, and how deeply nested a JSON error body
# may be before it is kept as text instead.
ERROR_BODY_KEEP: Final = 2048
MAX_ERROR_BODY_DEPTH: Final = 32

# Answers kept for `max_age=` (the latest per distinct GET; the oldest evicted past this).
MAX_REMEMBERED: Final = 1024

# Characterizations.
MAX_PAGE_SIZE: Final = 10

# watch(): seconds between round starts, its jitter as a fraction of the interval, and the fields
# whose changes alone do not make an event (they change on nearly every poll).
DEFAULT_WATCH_INTERVAL: Final = 60.0
DEFAULT_WATCH_JITTER: Final = 0.1
DEFAULT_WATCH_IGNORE: Final = frozenset({"average_queue_time", "last_updated"})

LOGGER_NAME: Final = "ionq_backends"

# Where `ionq-backends emulator` and `ionq-backends serve` listen by default: loopback, as
# neither has authentication.
LOCAL_HOST: Final = "127.0.0.1"
LOCAL_PORT: Final = 8080

# The emulator: the requests kept in
# `Emulator.requests` (a soak must not grow without bound), and how long stopping it waits for
# handlers still running.
EMULATOR_REQUEST_LOG: Final = 10_000
EMULATOR_SHUTDOWN_TIMEOUT: Final = 1.0
# A scenario's scenario seconds per real second: a day in 10 minutes.
DEFAULT_SCENARIO_SPEED: Final = 144.0
# A backend missing from this many rounds in a row (the API no longer lists it) is gone:
# watch()/poll() say so once and forget it, so a fleet whose names churn costs bounded memory.
GONE_AFTER_ROUNDS: Final = 3
# The emulator refuses a request line past EMULATOR_MAX_URL with 414 and headers past
# EMULATOR_MAX_HEADERS (bytes in all, or fields) with 431, as an HTTP API's front end does
# (nginx: 8 KiB). aiohttp's own parser, which would answer 400 with a traceback on stderr,
# reads up to EMULATOR_PARSER_LIMIT.
EMULATOR_MAX_URL: Final = 8192
EMULATOR_MAX_HEADERS: Final = (8192, 100)
EMULATOR_PARSER_LIMIT: Final = 65536
