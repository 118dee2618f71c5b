"""Who may work the call queue, see a call and supervise the team, and loading a task by
id: the queue's pages, the customer page's phone reveal and the API ask here."""

from shopcrm.access import has_perm, id_or_none, object_for, objects_for

from .models import CallAttempt, FollowUpTask

WORK = "followups.work_queue"
VIEW = "followups.view_followuptask"
SUPERVISE = "followups.supervise_queue"


def holds(user, task: FollowUpTask) -> bool:
    """The call is the user's: claimed by them (whatever the lease says now)."""
    return task.status == FollowUpTask.Status.CLAIMED and task.assigned_to_id == user.pk


def can_see_call(user, task: FollowUpTask) -> bool:
    """An agent sees the call they hold; supervisors see every call."""
    return holds(user, task) or has_perm(user, SUPERVISE)


def task_for(user, pk, *, permission: str = VIEW, queryset=None) -> FollowUpTask:
    return object_for(
        user, FollowUpTask if queryset is None else queryset, pk, permission=permission
    )


def call_for(user, pk, *, queryset=None) -> FollowUpTask:
    """The call page's task: 404 if none, 403 unless the user may see this call."""
    return object_for(
        user,
        FollowUpTask if queryset is None else queryset,
        pk,
        permission=VIEW,
        allowed=can_see_call,
    )


def can_use_call_notes(user, task: FollowUpTask) -> bool:
    """The notes of a call (to file a complaint from it): the agent who holds it or dialled
    it, and supervisors; not every agent who can count up ids."""
    return (
        holds(user, task)
        or has_perm(user, SUPERVISE)
        or CallAttempt.objects.filter(task=task, agent_id=user.pk).exists()
    )


def call_notes_for(user, pk, *, queryset=None) -> FollowUpTask:
    """A call whose notes prefill a complaint: 404 if none, 403 unless ``user`` made or
    supervises it."""
    return object_for(
        user,
        FollowUpTask if queryset is None else queryset,
        pk,
        permission=VIEW,
        allowed=can_use_call_notes,
    )


def tasks_to_supervise(user, pks) -> tuple[list[FollowUpTask], int]:
    """The tasks among ``pks`` (the team queue's checked boxes) for a bulk action, and how
    many of the ids asked for name no task ``user`` may see (junk, unknown or not theirs,
    told apart from nothing: the page refuses the whole action). 403 without SUPERVISE."""
    parsed = [id_or_none(pk) for pk in pks]
    asked = {pk for pk in parsed if pk is not None}
    found = [
        task
        for task in objects_for(user, FollowUpTask, asked, permission=SUPERVISE)
        if can_see_call(user, task)
    ]
    return found, parsed.count(None) + len(asked) - len(found)
