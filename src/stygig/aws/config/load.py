"""Loading a DeploymentConfig: defaults < TOML file < environment variables < command-line flags.

The file is ``--config``, ``$STYGIG_CONFIG`` or ``./stygig.toml``; unknown sections and keys are
refused by name (with a did-you-mean). The config remembers where each value came from
(``stygig aws config show``). Nothing is validated here (see :meth:`DeploymentConfig.validate`), so
``config show`` and ``doctor --config`` can display a configuration that would be refused.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

from stygig import settings
from stygig.aws.config.schema import SECTIONS, SETTINGS, ConfigError, DeploymentConfig


def find_config_file(explicit: str | Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if settings.CONFIG.is_set(environ):
        return settings.CONFIG.read(environ)
    default = Path("stygig.toml")
    return default if default.is_file() else None


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def _flatten_file(data: dict[str, Any], path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """TOML data -> ({dotted key: value}, environment table). Unknown keys are refused by name."""
    values: dict[str, Any] = {}
    environment: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}]{_did_you_mean(section, SECTIONS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} must be a table ([{section}])")
        for key, value in table.items():
            dotted = f"{section}.{key}"
            if dotted == "endpoint.environment":
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}: endpoint.environment must be a table ([endpoint.environment])")
                environment.update(value)
            elif dotted in SETTINGS:
                values[dotted] = value
            else:
                known = [s.name for s in SETTINGS.values() if s.section == section]
                if section == "endpoint":
                    known.append("environment")
                raise ConfigError(f"{path}: unknown key {key!r} in [{section}]{_did_you_mean(key, known)}")
    return values, environment


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_config(
    path: str | Path | None = None,
    *,
    flags: Mapping[str, Any] | None = None,
    env_flags: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    use_default_file: bool = True,
) -> DeploymentConfig:
    """Build the effective configuration: defaults < file < environment variables < flags.

    ``flags`` maps dotted keys (``"endpoint.instance_count"``) to values given on the command
    line (None = not given); ``env_flags`` holds ``--env KEY=VALUE`` container environment overrides.
    """
    environ = os.environ if environ is None else environ
    base = DeploymentConfig()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {key: "default" for key in SETTINGS}
    environment = dict(base.endpoint.environment)
    for k in environment:
        sources[f"endpoint.environment.{k}"] = "default"

    file = find_config_file(path, environ) if (path or use_default_file) else None
    if file is not None:
        file_values, file_environment = _flatten_file(read_config_file(file), file)
        for dotted, value in file_values.items():
            values[dotted] = value
            sources[dotted] = f"file {file}"
        for k, v in file_environment.items():
            environment[k] = v
            sources[f"endpoint.environment.{k}"] = f"file {file}"

    for s in SETTINGS.values():
        for var in s.env:
            if environ.get(var):
                values[s.key] = environ[var]
                sources[s.key] = f"env {var}"
                break

    for key, value in (flags or {}).items():
        if value is None:
            continue
        if key not in SETTINGS:
            raise ConfigError(f"unknown setting {key}")
        values[key] = value
        flag = SETTINGS[key].flag
        sources[key] = f"flag {flag}" if flag else "flag"
    for k, v in (env_flags or {}).items():
        environment[k] = v
        sources[f"endpoint.environment.{k}"] = "flag --env"
    values["endpoint.environment"] = environment
    return base.with_values(values, sources)


def parse_env_flags(items: Iterable[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env takes KEY=VALUE, got {item!r}")
        out[key] = value
    return out
