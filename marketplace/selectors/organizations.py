from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from marketplace.models import ApiToken, Membership, Organization


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


def organization_list_by_pks(*, pks: list[int]) -> list[Organization]:
    return list(Organization.objects.filter(pk__in=pks))


def api_token_list_for_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def api_token_get_for_user(*, user: AbstractBaseUser, pk: int) -> ApiToken | None:
    return api_token_list_for_user(user=user).filter(pk=pk).first()
