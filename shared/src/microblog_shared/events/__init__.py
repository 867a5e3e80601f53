from microblog_shared.events.contracts import Event, PasswordSet, PostCreated, UserRegistered
from microblog_shared.events.envelope import Envelope, uuid7
from microblog_shared.events.registry import EventRegistry, UnknownEventType, registry

__all__ = ["Envelope", "Event", "PasswordSet", "EventRegistry", "PostCreated", "UnknownEventType", "UserRegistered", "registry", "uuid7"]
