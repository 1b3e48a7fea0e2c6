"""The error of an AWS operation that ran but did not give what was asked (a failed endpoint, job or update)."""

from __future__ import annotations

from stygig.errors import StygigError


class DeployError(StygigError):
    status = 502
    code = "deploy_failed"
