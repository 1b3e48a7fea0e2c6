"""The audit: the timeouts and environment rules every StyGig model must pass.

Used both to refuse a configuration before it is deployed (:meth:`DeploymentConfig.problems`) and
by ``stygig aws doctor`` to check a live endpoint: one source of truth for the timeouts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from stygig import settings

_ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")


def show(value: Any) -> str:
    """A value as a config file would write it (for messages)."""
    return json.dumps(value) if isinstance(value, (str, int, float, bool, list)) else repr(value)


# ---- the audit's reference values ---------------------------------------------------------------
#: the container environment every StyGig model gets (values are strings, as SageMaker requires)
DEFAULT_ENVIRONMENT: dict[str, str] = {
    settings.TIMEOUT.name: "300",
    settings.MODEL_SERVER_TIMEOUT: "300",
    settings.TS_DEFAULT_RESPONSE_TIMEOUT: "300",
    settings.WORKERS_DLC.name: "1",
    settings.TS_DEFAULT_WORKERS_PER_MODEL: "1",
    settings.MAX_REQUEST_SIZE.name: "100000000",
    settings.TS_MAX_RESPONSE_SIZE: "100000000",
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "TOKENIZERS_PARALLELISM": "false",
}

#: environment timeouts (seconds) that must be present and at least this large
ENV_MINIMUMS: dict[str, int] = {
    settings.TIMEOUT.name: 300,
    settings.MODEL_SERVER_TIMEOUT: 300,
    settings.TS_DEFAULT_RESPONSE_TIMEOUT: 300,
}

#: production-variant timeouts (seconds) that must be present and at least this large
VARIANT_MINIMUMS: dict[str, int] = {
    "ContainerStartupHealthCheckTimeoutInSeconds": 600,
    "ModelDataDownloadTimeoutInSeconds": 600,
}
VARIANT_MAXIMUM = 3600  # SageMaker's limit for both variant timeouts

#: environment keys whose value must be a positive integer written as a string
INTEGER_ENV_KEYS = frozenset(
    set(ENV_MINIMUMS)
    | {
        settings.WORKERS_DLC.name,
        settings.WORKERS.name,
        settings.TS_DEFAULT_WORKERS_PER_MODEL,
        settings.MAX_REQUEST_SIZE.name,
        settings.TS_MAX_RESPONSE_SIZE,
        settings.OVERLAY_SECONDS.name,
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    }
)
BOOLEAN_ENV_KEYS = frozenset({"TOKENIZERS_PARALLELISM"})

# ---- the audit ------------------------------------------------------------------------------------
OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    item: str
    status: str  # OK | WARN | FAIL
    detail: str

    def line(self) -> str:
        return f"{self.item}: {self.detail}"


def audit_settings(
    environment: Mapping[str, Any] | None,
    variant: Mapping[str, Any] | None,
    *,
    allow_short: bool = False,
    where: str = "",
) -> list[Check]:
    """Check a container environment and a production variant against the audit.

    Used for a configuration before it is deployed and for a live endpoint (``doctor``).
    ``allow_short`` turns "below the minimum" from FAIL into WARN (``--allow-short-timeouts``);
    a missing timeout, a non-string value or an unparseable number always fails. ``None`` for
    ``environment`` or ``variant`` skips that half.
    """
    env = dict(environment or {})
    var = dict(variant or {})
    checks: list[Check] = []
    prefix = f"{where} " if where else ""
    short = WARN if allow_short else FAIL
    short_note = " (allowed by --allow-short-timeouts)" if allow_short else ""

    if environment is not None:
        for key, value in sorted(env.items()):
            if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
                checks.append(Check(f"{prefix}environment {key}", FAIL, "is not a valid environment variable name"))
            elif not isinstance(value, str):
                checks.append(
                    Check(
                        f"{prefix}environment {key}",
                        FAIL,
                        f"must be a string, got {type(value).__name__} {show(value)} (write \"{value}\" with quotes)",
                    )
                )
            elif len(value) > 1024:
                checks.append(Check(f"{prefix}environment {key}", FAIL, "is longer than SageMaker's 1024 characters"))
        if len(env) > 100:
            checks.append(Check(f"{prefix}environment", FAIL, f"has {len(env)} variables; SageMaker allows 100"))
        elif env and all(isinstance(v, str) for v in env.values()):
            checks.append(Check(f"{prefix}environment values", OK, f"all {len(env)} are strings"))

        for key, minimum in ENV_MINIMUMS.items():
            item = f"{prefix}environment {key}"
            if key not in env:
                checks.append(Check(item, FAIL, f"missing (must be set, at least {minimum})"))
                continue
            if not isinstance(env[key], str):
                continue  # the non-string failure is already reported
            n = _as_int(env[key])
            if n is None:
                checks.append(Check(item, FAIL, f"{env[key]!r} is not a whole number of seconds"))
                continue
            if n < minimum:
                checks.append(Check(item, short, f"{n} is below the minimum {minimum}{short_note}"))
            else:
                checks.append(Check(item, OK, f"{n} (minimum {minimum})"))

        for key in sorted(INTEGER_ENV_KEYS - set(ENV_MINIMUMS)):
            if key in env and isinstance(env[key], str):
                n = _as_int(env[key])
                if n is None or n < 1:
                    checks.append(Check(f"{prefix}environment {key}", FAIL, f"{env[key]!r} must be a positive whole number"))
        for key in sorted(BOOLEAN_ENV_KEYS):
            if key in env and isinstance(env[key], str) and env[key] not in ("true", "false"):
                checks.append(Check(f"{prefix}environment {key}", FAIL, f"{env[key]!r} must be \"true\" or \"false\""))
        missing_reference = sorted(k for k in DEFAULT_ENVIRONMENT if k not in env and k not in ENV_MINIMUMS)
        if missing_reference:
            checks.append(Check(f"{prefix}environment", WARN, "reference values not set: " + ", ".join(missing_reference)))

    if variant is not None:
        for key, minimum in VARIANT_MINIMUMS.items():
            item = f"{prefix}variant {key}"
            if key not in var or var[key] is None:
                checks.append(Check(item, FAIL, f"missing (SageMaker's default is too short; must be at least {minimum})"))
                continue
            value = var[key]
            if isinstance(value, bool) or not isinstance(value, int):
                checks.append(Check(item, FAIL, f"must be an integer, got {show(value)}"))
            elif value > VARIANT_MAXIMUM:
                checks.append(Check(item, FAIL, f"{value} is above SageMaker's maximum {VARIANT_MAXIMUM}"))
            elif value < minimum:
                checks.append(Check(item, short, f"{value} is below the minimum {minimum}{short_note}"))
            else:
                checks.append(Check(item, OK, f"{value} (minimum {minimum})"))
    return checks


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None
