"""Names of what StyGig creates on AWS, its tags, and where its logs are: one place for each."""

from __future__ import annotations

import datetime as _dt
import re

from stygig import __version__
from stygig.aws.config import VARIANT_NAME, base_name

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def stamp(now: _dt.datetime | None = None) -> str:
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}"


def resource_name(endpoint_name: str, when: str) -> str:
    return f"{base_name(endpoint_name)}-{when}"


def owned_name_re(endpoint_name: str) -> re.Pattern:
    """Names of the models / endpoint configs StyGig created for ``endpoint_name``."""
    return re.compile(rf"^{re.escape(base_name(endpoint_name))}-\d{{8}}-\d{{6}}-\d{{3}}$")


def resource_id(endpoint_name: str, variant: str = VARIANT_NAME) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant}"


def alarm_name(endpoint_name: str) -> str:
    return f"{endpoint_name}-stygig-backlog-without-capacity"


def log_location(region: str, kind: str, name: str) -> str:
    group = f"/aws/sagemaker/{kind}/{name}"
    enc = group.replace("/", "$252F")
    return (
        f"CloudWatch log group {group} "
        f"(https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{enc})"
    )


def tags(endpoint_name: str) -> list[dict[str, str]]:
    return [{"Key": "stygig:endpoint", "Value": endpoint_name}, {"Key": "stygig:version", "Value": __version__}]
