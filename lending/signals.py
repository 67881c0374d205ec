"""Units that come onto the shelf outside the lending services (added in the admin, or back from
repair there) are offered to the waiting list once the admin's change is committed."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from catalog.models import LOANABLE_UNIT_STATUSES, Unit


@receiver(post_save, sender=Unit, dispatch_uid="lending.unit_on_the_shelf")
def unit_on_the_shelf(sender, instance, raw=False, **kwargs):
    if raw or instance.status not in LOANABLE_UNIT_STATUSES:
        return
    from lending.models import WaitlistEntry
    from lending.waitlist import waitlist_offers_make  # the services import the models' app first

    item_type_id = instance.item_type_id
    if not WaitlistEntry.objects.filter(item_type_id=item_type_id, status=WaitlistEntry.Status.WAITING).exists():
        return  # nobody waits (one who joins meanwhile is seen by the periodic pass)
    # Its own transaction, after the admin's (whose inline saves hold no item-type locks).
    transaction.on_commit(lambda: waitlist_offers_make(item_type_ids=[item_type_id]), robust=True)
