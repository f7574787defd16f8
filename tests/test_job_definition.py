"""Defining jobs: registry, names, type arguments, class options, exports."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import jobmill
from jobmill import DuplicateJobName, Job, UnknownJob, registry


class Params(BaseModel):
    n: int


def test_class_name_is_the_job_name_unless_set() -> None:
    class DefinitionNamedJob(Job[Params, int]):
        name = "definition.custom"

        def perform(self, params: Params) -> int:
            return params.n

    class DefinitionPlainJob(Job[Params, int]):
        def perform(self, params: Params) -> int:
            return params.n

    try:
        assert DefinitionNamedJob.job_name == "definition.custom"
        assert registry.lookup("definition.custom") is DefinitionNamedJob
        assert registry.lookup("DefinitionPlainJob") is DefinitionPlainJob
        assert DefinitionPlainJob.codec.params_type is Params
        assert DefinitionPlainJob.codec.result_type is int
        assert not DefinitionPlainJob.is_async
    finally:
        registry.unregister("definition.custom")
        registry.unregister("DefinitionPlainJob")


def test_two_classes_with_one_name_is_an_error() -> None:
    class DefinitionDuplicateJob(Job[Params, int]):
        def perform(self, params: Params) -> int:
            return 1

    first = DefinitionDuplicateJob
    try:
        with pytest.raises(DuplicateJobName, match="already used by"):

            class Other(Job[Params, int]):
                name = "DefinitionDuplicateJob"

                def perform(self, params: Params) -> int:
                    return 2

        assert registry.lookup("DefinitionDuplicateJob") is first
    finally:
        registry.unregister("DefinitionDuplicateJob")


def test_abstract_bases_are_not_registered() -> None:
    class DefinitionBase(Job[Any, Any]):
        abstract = True

        def perform(self, params: Any) -> Any:
            return None

    assert "DefinitionBase" not in registry.registered()


def test_unknown_job_lists_the_registered_names() -> None:
    class DefinitionKnownJob(Job[Params, int]):
        def perform(self, params: Params) -> int:
            return 0

    try:
        with pytest.raises(UnknownJob, match=r"unknown job 'NoSuchJob'; registered jobs: .*Defini"):
            registry.lookup("NoSuchJob")
    finally:
        registry.unregister("DefinitionKnownJob")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_attempts", 0, "max_attempts must be an integer >= 1, got 0"),
        ("timeout", -5, "timeout must be positive or None, got -5"),
        ("queue", "", "queue must be a non-empty string"),
    ],
)
def test_bad_class_options_fail_at_definition(option: str, value: Any, message: str) -> None:
    namespace = {option: value, "perform": lambda self, params: None}
    with pytest.raises(ValueError, match=message):
        type("DefinitionBadJob", (Job,), namespace)
    registry.unregister("DefinitionBadJob")


def test_create_job_takes_types_from_annotations() -> None:
    def double(params: Params) -> int:
        return params.n * 2

    job_class = jobmill.create_job("DefinitionDouble", double, max_attempts=5)
    try:
        assert job_class.codec.params_type is Params
        assert job_class.codec.result_type is int
        assert job_class.max_attempts == 5
    finally:
        registry.unregister("DefinitionDouble")


def test_public_api_is_curated() -> None:
    assert jobmill.__all__ == sorted(jobmill.__all__)
    for name in (
        "Job",
        "JobResult",
        "JobMetadata",
        "JobStatus",
        "JobFailed",
        "InvalidParams",
        "JobNotFound",
        "AmbiguousJobId",
        "JobEvent",
        "EventKind",
        "configure",
        "get",
        "history",
        "retry",
        "cancel",
        "discard",
        "prune",
        "retry_failed",
        "chain",
        "create_job",
        "job",
    ):
        assert name in jobmill.__all__
        assert hasattr(jobmill, name)
    assert [s.value for s in jobmill.JobStatus] == [
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
    ]


def test_an_unusable_params_type_fails_at_definition() -> None:
    import sys
    from typing import TypedDict as TypingTypedDict

    class Legacy(TypingTypedDict):
        x: int

    if sys.version_info >= (3, 12):
        pytest.skip("typing.TypedDict is supported by pydantic on Python 3.12+")
    with pytest.raises(TypeError, match=r"DefinitionLegacyJob: params type .* is not usable"):

        class DefinitionLegacyJob(Job[Legacy, int]):
            def perform(self, params: Legacy) -> int:
                return params["x"]

    assert "DefinitionLegacyJob" not in registry.registered()


def test_bare_job_decorator_makes_a_job_class() -> None:
    @jobmill.job
    def definition_bare(params: Params) -> int:
        return params.n + 1

    try:
        assert issubclass(definition_bare, Job)
        assert definition_bare.job_name == "definition_bare"
        assert definition_bare.codec.params_type is Params
    finally:
        registry.unregister("definition_bare")
