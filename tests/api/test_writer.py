"""The group writer: concurrent requests share one transaction, and each gets its own answer."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api import service, storage
from api.schemas import ClassificationOut
from api.settings import Settings
from api.writer import GroupWriter
from model.artifact import ModelArtifact
from model.routing import Directory
from model.triage import Triage
from tests.conftest import count_stored_posts

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def triage(settings: Settings, tiny_model: ModelArtifact) -> Triage:
    return service.make_triage(settings, Directory.from_dir(settings.data_dir), tiny_model)


def post(text: str, external_id: str | None = None) -> storage.NewPost:
    return storage.NewPost(text, "instagram", external_id)


def test_jobs_waiting_together_are_stored_in_one_transaction(
    db: storage.Database, settings: Settings, triage: Triage
) -> None:
    writer = GroupWriter(db, settings, max_group_posts=100)
    texts = [
        "sampah menumpuk di kelurahan Sawah Lebar",
        "jalan berlubang besar di Padang Harapan",
        "selokan mampet banjir lagi",
    ]
    # submitted before the thread starts: all three are waiting when it takes the first
    futures = [writer.submit(triage, [post(t)], NOW) for t in texts]
    futures.append(writer.submit(triage, [post("sampah bau"), post("jalan rusak")], NOW))
    writer.start()
    results = [f.result(timeout=30) for f in futures]
    writer.close()
    assert writer.groups == 1
    assert [len(r) for r in results] == [1, 1, 1, 2]
    assert [r[0].topic.label for r in results[:3]] == ["sampah", "jalan", "banjir_drainase"]
    ids = [o.id for r in results for o in r]
    assert len(set(ids)) == 5 and None not in ids
    assert count_stored_posts(settings.database_url) == 5
    with db.session() as session:
        for r in results:
            for out in r:
                row = storage.get_post(session, str(out.id))
                assert row is not None and row.received_at == NOW
                assert storage.latest_prediction(row).topic == out.topic.label


def test_group_is_cut_at_the_size_limit(
    db: storage.Database, settings: Settings, triage: Triage
) -> None:
    writer = GroupWriter(db, settings, max_group_posts=2)
    futures = [writer.submit(triage, [post(f"sampah menumpuk nomor {i}")], NOW) for i in range(5)]
    writer.start()
    assert all(len(f.result(timeout=30)) == 1 for f in futures)
    writer.close()
    assert writer.groups == 3  # 2 + 2 + 1
    assert count_stored_posts(settings.database_url) == 5


def test_one_failing_request_does_not_fail_the_others(
    db: storage.Database,
    settings: Settings,
    triage: Triage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    classify = triage.classify

    def fragile(texts: list[str], *args: object, **kwargs: object) -> object:
        if any("meledak" in t for t in texts):
            raise RuntimeError("this post breaks the model")
        return classify(texts, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(triage, "classify", fragile)
    writer = GroupWriter(db, settings, max_group_posts=100)
    good = writer.submit(triage, [post("sampah menumpuk")], NOW)
    bad = writer.submit(triage, [post("trafo meledak")], NOW)
    also_good = writer.submit(triage, [post("jalan berlubang")], NOW)
    writer.start()
    assert good.result(timeout=30)[0].topic.label == "sampah"
    assert also_good.result(timeout=30)[0].topic.label == "jalan"
    with pytest.raises(RuntimeError, match="breaks the model"):
        bad.result(timeout=30)
    writer.close()
    assert count_stored_posts(settings.database_url) == 2


def test_same_post_twice_in_one_group_is_stored_once(
    db: storage.Database, settings: Settings, triage: Triage
) -> None:
    writer = GroupWriter(db, settings, max_group_posts=100)
    by_platform = [
        writer.submit(triage, [post("sampah bau", external_id="IG-1")], NOW) for _ in range(3)
    ]
    key = storage.NewPost("jalan rusak", "x", idempotency_key="open:retry-1")
    by_key = [writer.submit(triage, [key], NOW) for _ in range(3)]
    writer.start()
    assert len({f.result(timeout=30)[0].id for f in by_platform}) == 1
    assert len({f.result(timeout=30)[0].id for f in by_key}) == 1
    writer.close()
    assert writer.groups == 1
    assert count_stored_posts(settings.database_url) == 2


def test_a_repeat_arriving_in_the_same_group_links_to_the_first(
    db: storage.Database, settings: Settings, triage: Triage
) -> None:
    writer = GroupWriter(db, settings, max_group_posts=100)
    first = writer.submit(
        triage, [post("sampah menumpuk bau busuk di pinggir jalan kelurahan Sawah Lebar")], NOW
    )
    again = writer.submit(
        triage, [post("SAMPAH menumpuk bau busuk nian di pinggir jalan Sawah Lebar!!")], NOW
    )
    writer.start()
    (a,), (b,) = first.result(timeout=30), again.result(timeout=30)
    writer.close()
    assert writer.groups == 1
    assert a.repeat_of is None and a.tags
    assert b.repeat_of == a.id and b.repeat_count == 1 and b.tags == []


def test_each_request_is_answered_by_the_model_it_took(
    db: storage.Database,
    settings: Settings,
    triage: Triage,
    flipped_model: ModelArtifact,
) -> None:
    flipped = service.make_triage(settings, Directory.from_dir(settings.data_dir), flipped_model)
    writer = GroupWriter(db, settings, max_group_posts=100)
    text = "sampah menumpuk bau busuk"
    futures = [writer.submit(t, [post(text)], NOW) for t in (triage, flipped, flipped, triage)]
    writer.start()
    answers = [f.result(timeout=30)[0] for f in futures]
    writer.close()
    assert [a.topic.label for a in answers] == ["sampah", "jalan", "jalan", "sampah"]
    assert [a.model_version for a in answers] == [
        triage.model_version,
        flipped.model_version,
        flipped.model_version,
        triage.model_version,
    ]
    assert writer.groups == 3  # a model change between requests splits the group


def test_close_finishes_what_was_submitted_then_refuses(
    db: storage.Database, settings: Settings, triage: Triage
) -> None:
    writer = GroupWriter(db, settings, max_group_posts=1)
    futures = [writer.submit(triage, [post(f"lampu jalan mati {i}")], NOW) for i in range(4)]
    writer.start()
    writer.close()
    assert all(f.done() and len(f.result()) == 1 for f in futures)
    assert count_stored_posts(settings.database_url) == 4
    with pytest.raises(service.RequestRejected) as refused:
        writer.submit(triage, [post("sampah")], NOW)
    assert refused.value.status_code == 503


def test_an_unexpected_error_answers_the_group_and_the_writer_goes_on(
    db: storage.Database,
    settings: Settings,
    triage: Triage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = GroupWriter(db, settings, max_group_posts=100)
    process = writer._process
    calls = []

    def broken_once(jobs: list[object], answers: dict[object, object]) -> None:
        calls.append(len(jobs))
        if len(calls) == 1:
            raise KeyError("a bug")
        process(jobs, answers)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "_process", broken_once)
    first = [writer.submit(triage, [post(f"sampah menumpuk {i}")], NOW) for i in range(2)]
    writer.start()
    for future in first:
        with pytest.raises(KeyError, match="a bug"):
            future.result(timeout=30)
    later = writer.submit(triage, [post("jalan berlubang")], NOW)
    assert later.result(timeout=30)[0].topic.label == "jalan"
    writer.close()
    assert calls == [2, 1]
    assert count_stored_posts(settings.database_url) == 1


def test_requests_on_an_event_loop_are_answered_together_and_a_cancelled_one_is_not_stored(
    db: storage.Database, settings: Settings, triage: Triage
) -> None:
    writer = GroupWriter(db, settings, max_group_posts=100)

    async def main() -> tuple[list[list[ClassificationOut]], bool]:
        stores = [
            asyncio.ensure_future(writer.store(triage, [post(f"sampah menumpuk di gang {i}")], NOW))
            for i in range(4)
        ]
        gone = asyncio.ensure_future(writer.store(triage, [post("pergi sebelum disimpan")], NOW))
        await asyncio.sleep(0)  # every request is queued before the thread starts
        gone.cancel()
        writer.start()
        answers = await asyncio.gather(*stores)
        return answers, gone.cancelled()

    answers, cancelled = asyncio.run(main())
    writer.close()
    assert cancelled
    assert [len(a) for a in answers] == [1, 1, 1, 1]
    assert {a[0].topic.label for a in answers} == {"sampah"}
    assert writer.groups == 1
    with db.session() as session:
        assert storage.count_posts(session) == 4


def test_free_heap_is_returned_every_so_many_posts(
    db: storage.Database,
    settings: Settings,
    triage: Triage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trims: list[int] = []
    writer = GroupWriter(db, settings, max_group_posts=1, trim_every_posts=3)
    monkeypatch.setattr("api.writer.return_free_heap", lambda: trims.append(writer.groups))
    writer.start()
    for i in range(7):  # one post per group: a trim after the 3rd and the 6th
        writer.submit(triage, [post(f"jalan rusak nomor {i} di Padang Harapan")], NOW).result(30)
    writer.close()
    assert writer.groups == 7
    assert trims == [3, 6]


def _kept_vectors(db: storage.Database) -> int:
    with db.session() as session:
        return len(session.scalars(select(storage.RepeatVectorRow)).all())


def test_old_repeat_vectors_are_dropped_at_the_trims_and_a_failure_stops_nothing(
    db: storage.Database,
    settings: Settings,
    triage: Triage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At each trim the writer drops the database's repeat vectors of posts older than the
    repeat window; a failing drop is logged and the writer goes on storing."""
    monkeypatch.setattr("api.writer.return_free_heap", lambda: None)
    # the drop runs after the answers are sent: the test waits for it, not for the answer
    dropped = threading.Event()
    drop = service.drop_old_repeat_vectors

    def drop_and_tell(*args: Any) -> int:
        try:
            return drop(*args)
        finally:
            dropped.set()

    monkeypatch.setattr(service, "drop_old_repeat_vectors", drop_and_tell)
    long_ago = datetime.now(UTC) - timedelta(days=settings.repeat_window_days + 2)
    writer = GroupWriter(db, settings, max_group_posts=1, trim_every_posts=2)
    writer.start()
    texts = ["sampah menumpuk di Padang Harapan", "jalan berlubang di Sawah Lebar"]
    writer.submit(triage, [post(texts[0])], long_ago).result(30)
    assert _kept_vectors(db) == 1
    writer.submit(triage, [post(texts[1])], datetime.now(UTC)).result(30)  # a trim: one goes
    assert dropped.wait(30)
    assert _kept_vectors(db) == 1

    def failing(*_args: object) -> int:
        raise RuntimeError("database away")

    monkeypatch.setattr(service, "drop_old_repeat_vectors", failing)
    for i in range(2):  # another trim, failing
        writer.submit(triage, [post(f"lampu jalan mati {i} di Kebun Tebeng")], long_ago).result(30)
    monkeypatch.undo()
    writer.submit(triage, [post("parit tersumbat di Kebun Tebeng")], NOW).result(30)
    writer.close()
    assert writer.groups == 5
    assert count_stored_posts(db.url) == 5


def test_one_idempotency_key_on_two_posts_in_one_group_stores_the_first_only(
    db: storage.Database, settings: Settings, triage: Triage
) -> None:
    """The group fails as a whole on the second post and is done again request by request: the
    first request is stored, the second refused; a plain retry gets the first answer."""
    writer = GroupWriter(db, settings, max_group_posts=100)
    keyed = [
        storage.NewPost("jalan berlubang", idempotency_key="k1"),
        storage.NewPost("sampah bau", idempotency_key="k1"),
        storage.NewPost("jalan berlubang", idempotency_key="k1"),
    ]
    futures = [writer.submit(triage, [p], NOW) for p in keyed]
    writer.start()
    first = futures[0].result(timeout=30)
    with pytest.raises(service.RequestRejected) as refused:
        futures[1].result(timeout=30)
    assert refused.value.status_code == 422
    assert futures[2].result(timeout=30) == first
    writer.close()
    assert count_stored_posts(settings.database_url) == 1
