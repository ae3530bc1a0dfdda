"""One way to load a service's settings: explicit values, then the environment, then a file.

Every service's settings subclass `ServiceSettings` with their own
environment prefix (`GOVID_REGISTRY_`, `GOVID_ISSUER_`, ...) and the name of
the JSON file its data directory holds (`registry.json`, `issuer.json`, ...).
Where a value comes from, first found wins:

1. the values the program passes (`--data`, `--database-url`, a stack's own);
2. the environment, `PREFIX` + the field's name in capitals (lists and maps
   as JSON);
3. the JSON file in the data directory, keyed by field name (other keys, such
   as the registry's `origin`, are the service's business and are skipped);
4. the field's default.

The data directory is itself a setting (the field named by `data_dir_field`),
so it may come from any of the first two. A value that does not validate
raises `SettingsInvalid`, naming each variable and the reason, never the value
(it may be a secret).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from service.errors import SettingsInvalid

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """Base of every service's settings; subclasses set `env_prefix` and `config_file`."""

    model_config = SettingsConfigDict(extra="ignore")

    # The JSON file in the data directory (None: the service has none).
    config_file: ClassVar[str | None] = None
    # The field that holds the data directory.
    data_dir_field: ClassVar[str] = "data_dir"
    # Fields never read from the file: secrets come from the environment only.
    not_from_file: ClassVar[frozenset[str]] = frozenset()

    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="reverse proxies (IP addresses or networks) whose X-Forwarded-For is "
        "believed; none by default, so a client cannot choose the address it is limited by",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_only(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError("each trusted proxy is an IP address or network") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, DataDirectoryFile(settings_cls))

    @classmethod
    def load(cls, data_dir: Path | None = None, /, **overrides: Any) -> Self:
        """Settings for `data_dir` (when given) with `overrides` on top; None means unset."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if data_dir is not None:
            values[cls.data_dir_field] = data_dir
        try:
            return cls(**values)
        except ValidationError as exc:
            raise cls.invalid(exc) from None

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable of `field`."""
        return f"{cls.model_config.get('env_prefix') or ''}{field.upper()}"

    @classmethod
    def invalid(cls, exc: ValidationError) -> SettingsInvalid:
        """`exc` as a govid error: variable names and pydantic's reasons, no input values."""
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            field, *inner = [str(part) for part in error["loc"]] or ["settings"]
            name = cls.env_name(field) + (f"[{'.'.join(inner)}]" if inner else "")
            problems.append((name, str(error["msg"])))
        message = "; ".join(f"{name}: {reason}" for name, reason in problems)
        return SettingsInvalid(message or "the settings are invalid", problems=problems)

    @classmethod
    def from_file(cls, values: dict[str, Any], directory: Path) -> dict[str, Any]:
        """Adjust the values read from the file (e.g. paths relative to `directory`)."""
        return values


class DataDirectoryFile(PydanticBaseSettingsSource):
    """The JSON file of the data directory, below explicit values and the environment."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole file is read at once in __call__

    def __call__(self) -> dict[str, Any]:
        cls = self.settings_cls
        assert issubclass(cls, ServiceSettings)
        if cls.config_file is None:
            return {}
        directory = self._directory(cls)
        if directory is None:
            return {}
        path = directory / cls.config_file
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SettingsInvalid(f"{cls.config_file} is not valid JSON") from exc
        if not isinstance(data, dict):
            raise SettingsInvalid(f"{cls.config_file} must hold a JSON object")
        values = {
            k: v for k, v in data.items() if k in cls.model_fields and k not in cls.not_from_file
        }
        return cls.from_file(values, directory)

    def _directory(self, cls: type[ServiceSettings]) -> Path | None:
        given = self.current_state.get(cls.data_dir_field)
        if given is None:
            field = cls.model_fields.get(cls.data_dir_field)
            given = None if field is None else field.get_default(call_default_factory=True)
        return None if given is None else Path(given)
