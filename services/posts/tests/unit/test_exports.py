"""The export task's decisions and state, pure: no database, no clock."""

from datetime import UTC, datetime

import pytest

from microblog_shared.events import ExportCompleted, ExportProgressed, ExportRequested
from posts import exports

NOW = datetime(2026, 11, 24, tzinfo=UTC)
TASK = "0b5b6c0e-8d4e-4d3a-9a51-5e0b4f3f0a11"


def requested(total=5) -> exports.Export:
    return exports.replay([exports.request_export(TASK, 7, False, total, NOW)])


def test_requesting_an_export_names_the_task_as_the_original_app_did():
    event = exports.request_export(TASK, 7, already_running=False, total=3, now=NOW)
    assert event == ExportRequested(
        task_id=TASK, user_id=7, name="export_posts", description="Exporting posts...", total=3, requested_at=NOW
    )
    assert exports.task_view(exports.replay([event])) == {
        "id": TASK,
        "name": "export_posts",
        "description": "Exporting posts...",
        "progress": 0,
        "complete": False,
    }


def test_a_second_export_is_refused_while_the_first_runs():
    with pytest.raises(exports.ExportRunning):
        exports.request_export(TASK, 7, already_running=True, total=3, now=NOW)


def test_a_full_chunk_is_progress_with_where_the_next_one_starts():
    (event,) = exports.advance(requested(total=5), [3, 4], chunk_size=2, now=NOW)
    assert event == ExportProgressed(task_id=TASK, user_id=7, exported=2, total=5, progress=40, after_post_id=4, at=NOW)


def test_a_short_chunk_is_the_last_one():
    export = exports.replay(exports.advance(requested(total=3), [1, 2], 2, NOW), requested(total=3))
    progressed, completed = exports.advance(export, [9], 2, NOW)
    assert (progressed.exported, progressed.progress, progressed.after_post_id) == (3, 100, 9)
    assert completed == ExportCompleted(task_id=TASK, user_id=7, post_count=3, completed_at=NOW)
    done = exports.replay([progressed, completed], export)
    assert done.complete and done.version == 4
    assert exports.task_view(done)["progress"] == 100 and exports.task_view(done)["complete"] is True


def test_an_empty_chunk_completes_and_an_author_without_posts_is_done_at_once():
    (completed,) = exports.advance(requested(total=0), [], 500, NOW)
    assert isinstance(completed, ExportCompleted) and completed.post_count == 0


def test_a_complete_or_unknown_export_does_not_move():
    done = exports.replay(exports.advance(requested(), [], 2, NOW), requested())
    assert exports.advance(done, [1], 2, NOW) == []
    assert exports.advance(exports.Export(), [1], 2, NOW) == []


@pytest.mark.parametrize("chunk", [[2, 1], [3, 3], [1], [4, 5, 6]])
def test_a_chunk_that_would_double_skip_or_overflow_is_refused(chunk):
    export = exports.replay(exports.advance(requested(), [1], 1, NOW), requested())  # post 1 is written out
    with pytest.raises(ValueError):
        exports.advance(export, chunk, 2, NOW)


@pytest.mark.parametrize(
    ("exported", "total", "percent"), [(0, 10, 0), (3, 10, 30), (2, 3, 66), (10, 10, 100), (12, 10, 100), (0, 0, 100)]
)
def test_progress_is_whole_percent_capped_at_100(exported, total, percent):
    assert exports.percent(exported, total) == percent


def test_state_is_only_changed_by_export_events():
    from microblog_shared.events import PostDeleted

    with pytest.raises(TypeError):
        exports.apply(PostDeleted(post_id=1, author_id=7, deleted_at=NOW), exports.Export())
