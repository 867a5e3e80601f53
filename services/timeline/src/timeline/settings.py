from pydantic import Field

from microblog_shared.runtime.settings import Settings


class TimelineSettings(Settings):
    service_name: str = "timeline"
    # Home timelines keep the newest entries only (Twitter's and Mastodon's cap); older pages
    # come from a fallback query.
    home_timeline_cap: int = Field(default=800, ge=10)
    # Authors with more followers are not fanned out on write but merged at read time.
    celebrity_followers: int = Field(default=10_000, ge=1)
