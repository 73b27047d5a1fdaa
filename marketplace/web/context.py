from django.http import HttpRequest

from marketplace.selectors.organizations import organization_for_user


def organization(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_org": None}
    return {"current_org": organization_for_user(user=user)}
