"""Who may work the campaigns (managers: ``campaigns.manage_campaign``), and loading one by
id: the pages ask here."""

from shopcrm.access import has_perm, object_for

from .models import Campaign

MANAGE = "campaigns.manage_campaign"


def can_manage(user) -> bool:
    return has_perm(user, MANAGE)


def campaign_for(user, pk) -> Campaign:
    """The campaign ``pk`` for a manager: 403 for anyone else, 404 for an unknown id."""
    return object_for(user, Campaign, pk, permission=MANAGE)
