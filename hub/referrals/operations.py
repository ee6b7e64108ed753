"""The referral ``$operations`` on Task (DESIGN §3, §4), registered with the FHIR operation registry.

Each handler parses nothing itself: it hands the ``Parameters`` to the service, which decides and
writes in one transaction.
"""

from __future__ import annotations

from hub.fhir.operations import Call, operation
from hub.referrals import machine, service, worklist


def _transition(action: str):
    def handler(call: Call) -> dict:
        return service.transition(call.hub, call.principal, call.fid, action, call.params())

    handler.__name__ = f"task_{action.replace('-', '_')}"
    handler.__doc__ = f"POST /fhir/Task/{{id}}/${action}"
    return handler


for _action in machine.OPERATIONS:
    operation("Task", _action, instance=True, interaction="update")(_transition(_action))


@operation("Task", "available-actions", instance=True, methods=("GET",), interaction="read", body="none")
def available_actions(call: Call) -> dict:
    return service.available_actions(call.hub, call.principal, call.fid)


@operation("Task", "worklist", instance=False, methods=("GET",), interaction="search", body="none")
def task_worklist(call: Call) -> dict:
    from hub.api.auth import fhir_base_url  # the answer's links are absolute, as a search's are

    return worklist.worklist(call.hub, call.principal, call.query, fhir_base_url())
