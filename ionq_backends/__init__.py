"""ionq-backends: an asyncio client for IonQ's backend status and characterization API.

async with IonQClient() as client:
    snapshot = await client.get_backends()
backend = least_busy(snapshot, min_qubits=30)
"""

from ._client import IonQClient
from ._constants import VERSION as __version__
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    IonQError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from ._humanize import format_age, format_duration
from ._models import (
    Backend,
    BackendChange,
    BackendName,
    BackendsSnapshot,
    BackendStatus,
    Characterization,
    CharacterizationPage,
    CharacterizationsSnapshot,
    ErrorRate,
    FidelityStat,
    PollRound,
    Timing,
)
from ._ranking import CircuitShape, RankedBackend, estimate_success, rank_for_circuit
from ._raw import RawResponse
from ._selection import least_busy, select
from ._wire import make_converter

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "Backend",
    "BackendChange",
    "BackendName",
    "BackendStatus",
    "BackendsSnapshot",
    "BadRequestError",
    "Characterization",
    "CharacterizationPage",
    "CharacterizationsSnapshot",
    "CircuitShape",
    "ErrorRate",
    "FidelityStat",
    "IonQClient",
    "IonQError",
    "NotFoundError",
    "PermissionDeniedError",
    "PollRound",
    "RankedBackend",
    "RateLimitError",
    "RawResponse",
    "ResponseValidationError",
    "ServerError",
    "Timing",
    "__version__",
    "estimate_success",
    "format_age",
    "format_duration",
    "least_busy",
    "make_converter",
    "rank_for_circuit",
    "select",
]
