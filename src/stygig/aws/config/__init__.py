"""The one description of a StyGig deployment: ``schema`` (a frozen dataclass per TOML section and
:class:`DeploymentConfig`), ``load`` (defaults < file < environment < flags, with provenance) and
``audit`` (the timeout and environment rules a configuration and a live endpoint must pass)."""

from stygig.aws.config.audit import (
    BOOLEAN_ENV_KEYS,
    DEFAULT_ENVIRONMENT,
    ENV_MINIMUMS,
    FAIL,
    INTEGER_ENV_KEYS,
    OK,
    VARIANT_MAXIMUM,
    VARIANT_MINIMUMS,
    WARN,
    Check,
    audit_settings,
)
from stygig.aws.config.load import find_config_file, load_config, parse_env_flags, read_config_file
from stygig.aws.config.schema import (
    DEFAULT_DLC_VERSION,
    DLC_ACCOUNTS,
    DLC_ENVIRONMENT,
    DLC_PYTHON,
    SECTIONS,
    SETTINGS,
    STYGIG_REPOSITORY,
    VARIANT_NAME,
    AsyncSettings,
    AwsSettings,
    BatchSettings,
    ConfigError,
    DeploymentConfig,
    EndpointSettings,
    RedeploySettings,
    Setting,
    TrainingSettings,
    base_name,
    check_resource_name,
    resolve_image,
)

__all__ = [
    "BOOLEAN_ENV_KEYS", "DEFAULT_ENVIRONMENT", "ENV_MINIMUMS", "FAIL", "INTEGER_ENV_KEYS", "OK", "VARIANT_MAXIMUM",
    "VARIANT_MINIMUMS", "WARN", "Check", "audit_settings", "find_config_file", "load_config", "parse_env_flags",
    "read_config_file", "DEFAULT_DLC_VERSION", "DLC_ACCOUNTS", "DLC_ENVIRONMENT", "DLC_PYTHON", "SECTIONS", "SETTINGS",
    "STYGIG_REPOSITORY", "VARIANT_NAME", "AsyncSettings", "AwsSettings", "BatchSettings", "ConfigError", "DeploymentConfig",
    "EndpointSettings", "RedeploySettings", "Setting", "TrainingSettings", "base_name", "check_resource_name",
    "resolve_image",
]
