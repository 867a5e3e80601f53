from microblog_shared.events.contracts import (
    Event,
    ExportCompleted,
    ExportProgressed,
    ExportRequested,
    MessageSent,
    MessagesRead,
    PasswordResetRequested,
    PasswordSet,
    PostCreated,
    PostDeleted,
    PostEdited,
    SessionRevoked,
    UserFollowed,
    UserProfileUpdated,
    UserRegistered,
    UserSeen,
    UserUnfollowed,
)
from microblog_shared.events.envelope import Envelope, uuid7
from microblog_shared.events.registry import EventRegistry, UnknownEventType, registry

__all__ = [
    "Envelope", "Event", "EventRegistry", "ExportCompleted", "ExportProgressed", "ExportRequested",
    "MessageSent", "MessagesRead", "PasswordResetRequested", "PasswordSet", "PostCreated", "PostDeleted", "PostEdited",
    "SessionRevoked", "UnknownEventType", "UserFollowed", "UserProfileUpdated", "UserRegistered", "UserSeen",
    "UserUnfollowed", "registry", "uuid7",
]
