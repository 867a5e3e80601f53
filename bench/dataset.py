"""The benchmark's dataset, drawn from one seed: users, follows with a celebrity, Zipf posts.

Everything is generated in memory first (it is small: 10,000 users, about 200,000 follows,
100,000 posts), so the seeding step only writes. Only Python's `random` is used, so a seed
always gives the same dataset.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PASSWORD = "bench-password"  # every seeded account's password (one argon2 hash for all)
# PASSWORD hashed once with argon2-cffi's `PasswordHasher()` (identity's parameters): what
# identity stores in `PasswordSet` and `users` for a new account with that password.
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bWaw+yDB7tLX+C4X0eenMw$fdR95pPDW9zBpHzef4PUXRD5dbzYwtRx8fBraya68YI"

# Short sentences in the UI's languages, each with the language posts' detector finds in it;
# post bodies are one of them plus a number.
SENTENCES = [
    ("Just finished a long run along the river, feeling great", "en"),
    ("Does anyone have a good recipe for lentil soup?", "en"),
    ("The new release fixes the bug we talked about yesterday", "en"),
    ("Reading a fascinating book about the history of maps", "en"),
    ("Coffee first, then the world", "en"),
    ("Our team shipped the feature two days early this week", "en"),
    ("Hoy hace un día precioso para pasear por el parque", "es"),
    ("¿Alguien sabe dónde comprar pan de centeno en el centro?", "es"),
    ("Terminé de leer la novela y me encantó el final", "es"),
    ("今天天气很好，我们去公园散步吧", "zh"),
    ("我正在学习如何用 Python 写程序", "zh"),
    ("这本书非常有意思，推荐给大家", "zh"),
]


@dataclass(frozen=True)
class Shape:
    """How big the dataset is; `scaled(f)` keeps its shape for quick runs."""

    users: int = 10_000
    posts: int = 100_000
    days: int = 30
    mean_followed: float = 20.0
    pareto_alpha: float = 2.0
    max_followed: int = 2_000
    celebrity_followers: int = 5_000
    readers: int = 50
    reader_follows: int = 20

    def scaled(self, factor: float) -> Shape:
        if factor == 1:
            return self
        users = max(200, int(self.users * factor))
        return Shape(
            users=users,
            posts=max(500, int(self.posts * factor)),
            days=self.days,
            mean_followed=self.mean_followed,
            pareto_alpha=self.pareto_alpha,
            max_followed=min(self.max_followed, users // 4),
            celebrity_followers=min(self.celebrity_followers, users // 2),
            readers=min(self.readers, 20),
            reader_follows=self.reader_follows,
        )


# The dataset's sizes: the issues' (10,000 users, ~200,000 follows, 100,000 posts) and the
# million-post one of the writes-and-replays issue, same shape with ten times everything and a
# celebrity with 50,000 followers. `--scale` shrinks either for quick runs.
SIZES = {
    "100k": Shape(),
    "1m": Shape(users=100_000, posts=1_000_000, celebrity_followers=50_000),
}


def add_size_arguments(parser) -> None:
    """`--size` and `--scale`, as every benchmark module takes them."""
    parser.add_argument("--size", choices=sorted(SIZES), default="100k", help="dataset size (posts)")
    parser.add_argument("--scale", type=float, default=1.0, help="factor on the size, keeping its shape")


def shape_of(args) -> Shape:
    return SIZES[args.size].scaled(args.scale)


@dataclass
class Dataset:
    shape: Shape
    seed: int
    now: datetime
    usernames: dict[int, str]  # user id -> username (ids 1..users)
    celebrity: int
    readers: list[int]
    follows: list[tuple[int, int, datetime]] = field(default_factory=list)  # (follower, followee, followed_at)
    posts: list[tuple[int, datetime, int]] = field(default_factory=list)  # (author, created_at, sentence index)

    def email(self, user_id: int) -> str:
        return f"{self.usernames[user_id]}@bench.example"

    def followed_by(self, user_id: int) -> list[int]:
        return [b for a, b, _ in self.follows if a == user_id]

    def summary(self) -> dict:
        followers: dict[int, int] = {}
        for _, b, _ in self.follows:
            followers[b] = followers.get(b, 0) + 1
        authored: dict[int, int] = {}
        for author, _, _ in self.posts:
            authored[author] = authored.get(author, 0) + 1
        return {
            "seed": self.seed,
            "users": len(self.usernames),
            "posts": len(self.posts),
            "follows": len(self.follows),
            "mean_followed": round(len(self.follows) / len(self.usernames), 2),
            "celebrity": self.celebrity,
            "celebrity_followers": followers.get(self.celebrity, 0),
            "celebrity_posts": authored.get(self.celebrity, 0),
            "max_posts_by_one_author": max(authored.values()),
            "readers": len(self.readers),
            "reader_follows": self.shape.reader_follows,
        }


def generate(shape: Shape = Shape(), seed: int = 7) -> Dataset:
    """The dataset: Zipf (s=1) authorship, Pareto out-degrees, one celebrity, readers who follow it.

    Authorship ranks are a random permutation of the users and the celebrity is the rank-1
    author (popular accounts post the most). Ordinary users follow uniformly chosen accounts;
    readers follow the celebrity plus accounts chosen by posting activity, so their homes are
    full. The last `readers` ids are the readers (part of the `users`).
    """
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    ids = list(range(1, shape.users + 1))
    readers = ids[-shape.readers :]
    usernames = {i: f"user{i}" for i in ids} | {r: f"reader{n:02d}" for n, r in enumerate(readers, start=1)}
    ranked = rng.sample(ids, len(ids))  # ranked[0] posts the most
    celebrity = next(u for u in ranked if u not in readers)
    zipf = list(itertools.accumulate(1 / rank for rank in range(1, len(ids) + 1)))
    data = Dataset(shape, seed, now, usernames, celebrity, readers)

    def by_activity(k: int) -> list[int]:
        return [ranked[bisect.bisect(zipf, rng.random() * zipf[-1])] for _ in range(k)]

    span = timedelta(days=shape.days).total_seconds()
    moment = lambda: now - timedelta(seconds=rng.random() * span)  # noqa: E731
    # Pareto out-degrees scaled so that the mean is exactly the target before rounding.
    others = ids[: -shape.readers]
    raw = [min(rng.paretovariate(shape.pareto_alpha), 1e6) for _ in others]
    scale = shape.mean_followed / (sum(raw) / len(raw))
    fans = set(rng.sample([u for u in others if u != celebrity], shape.celebrity_followers - len(readers)))
    for user, draw in zip(others, raw):
        degree = max(1, min(shape.max_followed, round(draw * scale)))
        chosen = set()
        if user in fans:
            chosen.add(celebrity)
        while len(chosen) < degree:
            candidate = rng.randint(1, shape.users)
            if candidate not in (user, celebrity):
                chosen.add(candidate)
        data.follows += [(user, followee, moment()) for followee in sorted(chosen)]
    for reader in readers:
        chosen = {celebrity}
        while len(chosen) < shape.reader_follows:
            chosen.update(c for c in by_activity(1) if c != reader)
        data.follows += [(reader, followee, moment()) for followee in sorted(chosen)]
    authors = by_activity(shape.posts)
    data.posts = sorted(((a, moment(), rng.randrange(len(SENTENCES))) for a in authors), key=lambda p: p[1])
    return data
