"""Maps event type names to contracts, and upcasts old payloads on read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from microblog_shared.events import contracts
from microblog_shared.events.contracts import Event
from microblog_shared.events.envelope import Envelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    def __init__(self) -> None:
        self._contracts: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, contract: type[Event]) -> type[Event]:
        self._contracts[contract.type_name] = contract
        return contract

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorate a function turning a `from_version` payload into the next version's."""

        def register(function: Upcaster) -> Upcaster:
            self._upcasters[(type_name, from_version)] = function
            return function

        return register

    def contract(self, type_name: str) -> type[Event]:
        try:
            return self._contracts[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None

    def decode(self, envelope: Envelope) -> Event:
        """The envelope's payload as the current version of its contract."""
        contract = self.contract(envelope.type)
        payload, version = dict(envelope.payload), envelope.schema_version
        while version < contract.schema_version:
            payload = self._upcasters[(envelope.type, version)](payload)
            version += 1
        return contract.model_validate(payload)

    def topics(self) -> set[str]:
        return {c.topic for c in self._contracts.values() if c.topic}


registry = EventRegistry()
for _contract in (
    contracts.UserRegistered,
    contracts.UserProfileUpdated,
    contracts.UserSeen,
    contracts.PasswordSet,
    contracts.PasswordResetRequested,
    contracts.EmailChangeRequested,
    contracts.SessionRevoked,
    contracts.UserFollowed,
    contracts.UserUnfollowed,
    contracts.PostCreated,
    contracts.PostEdited,
    contracts.PostDeleted,
    contracts.MessageSent,
    contracts.MessagesRead,
    contracts.ExportRequested,
    contracts.ExportProgressed,
    contracts.ExportCompleted,
):
    registry.register(_contract)


@registry.upcaster("PostCreated", 1)
def _post_created_v1_had_no_language(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "language": ""}
