from django.contrib.auth.models import AbstractBaseUser

from marketplace.models import Membership, Organization


def organization_for_user(*, user: AbstractBaseUser) -> Organization | None:
    """The organisation a user acts for: the one they own, else the first they joined."""
    if not user or not user.is_authenticated:
        return None
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user)
        .order_by("-role", "created_at")  # "owner" sorts after "member", so descending puts ownership first
        .first()
    )
    return membership.organization if membership else None


def membership_get(*, user: AbstractBaseUser, organization: Organization) -> Membership | None:
    return Membership.objects.filter(user=user, organization=organization).first()
