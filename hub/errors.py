"""Typed errors of the hub, and the one place that turns them into OperationOutcomes.

Every failure a caller can cause is a ``HubError`` subclass carrying the HTTP status, the FHIR
issue type and, where known, the element at fault as a FHIRPath expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue."""

    diagnostics: str
    code: str = "invalid"  # http://hl7.org/fhir/issue-type
    severity: str = "error"
    expression: tuple[str, ...] = ()

    def as_fhir(self) -> dict:
        out: dict = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            out["expression"] = list(self.expression)
        return out


@dataclass
class HubError(Exception):
    """Base of every error a request can end in."""

    diagnostics: str = "request failed"
    expression: tuple[str, ...] | list[str] = ()
    issues: list[Issue] = field(default_factory=list)
    status: int = 400
    code: str = "invalid"

    def __post_init__(self) -> None:
        super().__init__(self.diagnostics)
        self.expression = tuple(self.expression)

    def all_issues(self) -> list[Issue]:
        if self.issues:
            return list(self.issues)
        return [Issue(self.diagnostics, self.code, "error", self.expression)]

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.all_issues())


def _kind(status: int, code: str):
    def init(self, diagnostics: str = "", expression=(), issues=None):
        HubError.__init__(
            self,
            diagnostics or self.__class__.__doc__.strip(),
            tuple(expression),
            list(issues or []),
            status,
            code,
        )

    return init


class BadRequest(HubError):
    """The request could not be understood."""

    __init__ = _kind(400, "invalid")


class NotSupported(HubError):
    """The request asks for something this server does not do."""

    __init__ = _kind(400, "not-supported")


class Unauthorized(HubError):
    """No valid credentials (a bearer token, or a signed-in session) came with the request."""

    __init__ = _kind(401, "login")


class Forbidden(HubError):
    """The caller may not do this."""

    __init__ = _kind(403, "forbidden")


class NotFound(HubError):
    """No such resource."""

    __init__ = _kind(404, "not-found")


class MethodNotAllowed(HubError):
    """This interaction is not allowed here."""

    __init__ = _kind(405, "not-supported")


class Conflict(HubError):
    """The request conflicts with the current state."""

    __init__ = _kind(409, "conflict")


class Gone(HubError):
    """The resource was deleted."""

    __init__ = _kind(410, "deleted")


class PreconditionFailed(HubError):
    """A precondition of the request (If-Match, conditional criteria) failed."""

    __init__ = _kind(412, "conflict")


class PayloadTooLarge(HubError):
    """The request body is larger than this server accepts."""

    __init__ = _kind(413, "too-costly")


class UnsupportedMediaType(HubError):
    """The request body is not in a media type this server accepts."""

    __init__ = _kind(415, "not-supported")


class Unprocessable(HubError):
    """The resource breaks a profile or business rule of the hub."""

    __init__ = _kind(422, "processing")


def operation_outcome(issues: list[Issue]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}


def outcome_for(error: HubError) -> tuple[dict, int]:
    return operation_outcome(error.all_issues()), error.status
