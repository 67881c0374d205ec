"""The mail queue for administrators: what was sent to whom and when, what failed and why, and
Retry for failed mails (after an address was corrected, or for one a stopped worker left)."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import Mail


@admin.register(Mail)
class MailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "recipient", "to", "status", "attempts", "sent_at", "last_error")
    list_filter = ("status", "kind")
    search_fields = ("to", "subject", "reservation__code", "recipient__username")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    actions = ("retry",)
    readonly_fields = [field.name for field in Mail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retry the selected failed e-mails"), permissions=["view"])
    def retry(self, request, queryset):
        count = queryset.filter(status=Mail.Status.FAILED).update(
            status=Mail.Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), claimed_at=None)
        self.message_user(request, ngettext(
            "%(count)d e-mail queued again.", "%(count)d e-mails queued again.", count) % {"count": count},
            messages.SUCCESS if count else messages.WARNING)
