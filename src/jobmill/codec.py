"""Params and results: validation with pydantic, storage as JSON (never pickle)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import PydanticUserError, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from jobmill.errors import InvalidParams
from jobmill.storable import UndecodableJSON, json_problems, plainly_storable

# The result types that hold nothing but None (``Job[P, None]``).
_NO_RESULT = (None, type(None))


class ResultNotSerializable(TypeError):
    """A job returned a value that cannot be stored as JSON."""


class Codec:
    """Validates and serialises one job's params and result types."""

    def __init__(self, job_name: str, params_type: Any, result_type: Any) -> None:
        self.job_name = job_name
        self.params_type = params_type
        self.result_type = result_type

    @cached_property
    def _params(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.params_type)

    @cached_property
    def _result(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.result_type)

    def check_types(self) -> None:
        """Build the validators now, so an unusable type fails when the job is defined."""
        for role, kind in (("params", self.params_type), ("result", self.result_type)):
            try:
                _ = self._params if role == "params" else self._result
            except PydanticUserError as exc:
                raise TypeError(
                    f"{self.job_name}: {role} type {kind!r} is not usable: {exc}"
                ) from None

    def coerce_params(
        self, params: Any = None, kwargs: Mapping[str, Any] | None = None, index: int | None = None
    ) -> Any:
        """Validated params from a model instance, a mapping or keyword arguments."""
        if kwargs:
            if params is not None:
                if not isinstance(params, Mapping):
                    raise TypeError("pass params either positionally or as keywords, not both")
                params = {**params, **kwargs}
            else:
                params = dict(kwargs)
        try:
            if params is None or _is_empty_mapping(params):
                return self._validate_missing()
            return self._params.validate_python(params)
        except ValidationError as exc:
            raise InvalidParams(self.job_name, exc.errors(include_url=False), index) from None

    def _validate_missing(self) -> Any:
        # "No params" is None for a job typed Job[None, ...] and {} for a model
        # whose fields all have defaults; an empty --param list or cron row means it too.
        try:
            return self._params.validate_python({})
        except ValidationError as empty_error:
            try:
                return self._params.validate_python(None)
            except ValidationError:
                raise empty_error from None

    def dump_params(self, value: Any, index: int | None = None) -> Any:
        """Validated params as stored JSON; ``InvalidParams`` naming each part that
        one of the databases would refuse (NaN, a NUL character...)."""
        dumped = self._params.dump_python(value, mode="json")
        problems = json_problems(dumped, lambda: self._params.dump_python(value))
        if problems:
            raise InvalidParams(self.job_name, problems, index)
        return dumped

    def encode_params(self, value: Any, index: int | None = None) -> str | None:
        """Validated params as the JSON text to store (None: no params, NULL);
        ``InvalidParams`` as ``dump_params`` raises it."""
        try:
            encoded: bytes | None = self._params.dump_json(value)
        except PydanticSerializationError:
            encoded = None  # a lone surrogate, say: dump_params names it
        if encoded is not None and plainly_storable(encoded):
            return encoded.decode()
        dumped = self.dump_params(value, index)
        if dumped is None:
            return None
        return json.dumps(dumped) if encoded is None else encoded.decode()

    def load_params(self, stored: Any) -> Any:
        """Params read back from the database, validated again."""
        if isinstance(stored, UndecodableJSON):
            error = {"loc": (), "msg": stored.describe(), "type": "json_invalid"}
            raise InvalidParams(self.job_name, [error])
        try:
            if stored is None or _is_empty_mapping(stored):
                return self._validate_missing()
            return self._params.validate_python(stored)
        except ValidationError as exc:
            raise InvalidParams(self.job_name, exc.errors(include_url=False)) from None

    def encode_result(self, value: Any) -> tuple[Any, Any]:
        """(typed result, JSON-ready result) or ``ResultNotSerializable``."""
        if value is None and self.result_type in _NO_RESULT:
            return None, None  # a job typed to return nothing, as most are
        try:
            typed = self._result.validate_python(value)
            stored = self._result.dump_python(typed, mode="json")
        except (ValidationError, TypeError, ValueError) as exc:
            raise ResultNotSerializable(
                f"{self.job_name} returned {type(value).__name__} that cannot be stored as JSON "
                f"({self.result_type!r} expected): {exc}"
            ) from exc
        problems = json_problems(stored, lambda: self._result.dump_python(typed))
        if problems:
            details = "; ".join(_where(problem) for problem in problems)
            raise ResultNotSerializable(
                f"{self.job_name} returned {type(value).__name__} that cannot be stored as JSON: "
                f"{details}"
            )
        return typed, stored

    def params_schema(self) -> dict[str, Any]:
        return self._params.json_schema()


def _is_empty_mapping(value: Any) -> bool:
    if type(value) is dict:  # the usual case, without the ABC's isinstance
        return not value
    return isinstance(value, Mapping) and not value


def _where(problem: Mapping[str, Any]) -> str:
    path = ".".join(str(part) for part in problem["loc"]) or "result"
    return f"{path}: {problem['msg'].removeprefix('cannot be stored: ')}"
