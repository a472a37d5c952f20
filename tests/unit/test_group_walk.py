"""Walking a Content Server group: which pages a page queues (never more than a window's worth),
when a group is refused, and what is left out."""

from __future__ import annotations

from datetime import UTC, datetime

from ecmpush.domain.delivery.group_walk import PAGES_PER_LEADER, next_step
from ecmpush.domain.delivery.messages import GroupPageMessage
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.routing_config import EcmGroupTeam
from ecmpush.domain.ecm.model import MembersPage

NOTIFICATION = Notification(
    id="n-1",
    type="document.available",
    category="field",
    source_id="evt-1",
    groups=[EcmGroupTeam(ecm_group=100, max_members=1_000_000)],
    template="document.available.safety_form",
    deep_link="https://app.test/documents/1",
    apns_category="ECM_INFO",
    created_at=datetime(2026, 12, 3, tzinfo=UTC),
)


def _page(number: int, total_pages: int, users: tuple[str, ...] = ("u1",)) -> MembersPage:
    return MembersPage(users, (), number, 100, total_pages * 100, total_pages)


def _queued(page: int, total_pages: int) -> list[tuple[str, int]]:
    message = GroupPageMessage(notification=NOTIFICATION, page=page)
    step = next_step(message, _page(page, total_pages))
    return [(m.member_type, m.page) for m in step.follow]


def test_each_window_s_first_page_queues_the_window_and_the_next_first_page() -> None:
    assert PAGES_PER_LEADER == 100
    assert _queued(1, 250) == [
        *(("users", n) for n in range(2, 101)),
        ("users", 101),
        ("groups", 1),
    ]
    assert _queued(101, 250) == [*(("users", n) for n in range(102, 201)), ("users", 201)]
    assert _queued(201, 250) == [("users", n) for n in range(202, 251)]
    assert _queued(2, 250) == []
    assert _queued(1, 1) == [("groups", 1)]


def test_every_page_is_queued_exactly_once_for_a_ten_thousand_page_group() -> None:
    total = 10_000
    seen, todo = [1], [1]
    while todo:
        for member_type, page in _queued(todo.pop(), total):
            if member_type == "users":
                seen.append(page)
                todo.append(page)
    assert sorted(seen) == list(range(1, total + 1))
    assert max(len(_queued(p, total)) for p in (1, 101, 9901)) <= PAGES_PER_LEADER + 1


def test_a_group_over_its_cap_is_refused_before_anything_is_queued() -> None:
    small = NOTIFICATION.model_copy(
        update={"groups": [EcmGroupTeam(ecm_group=100, max_members=50)]}
    )
    step = next_step(GroupPageMessage(notification=small), _page(1, 2))
    assert step.refused is not None
    assert (step.follow, step.users) == ([], [])


def test_member_groups_that_cannot_be_walked_are_left_out_with_a_reason() -> None:
    message = GroupPageMessage(notification=NOTIFICATION, member_type="groups", via=(7,))
    page = MembersPage((), (0, -3, 7, 100, 200), 1, 100, 5, 1)
    step = next_step(message, page)
    assert [m.group_id for m in step.follow] == [200]
    assert [m.via for m in step.follow] == [(7, 100)]
    assert len(step.skipped) == 4  # two non-ids, a cycle back to 7, the group itself
