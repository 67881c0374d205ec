from django.contrib import admin

from legal.models import LegalPage


@admin.register(LegalPage)
class LegalPageAdmin(admin.ModelAdmin):
    list_display = ("__str__", "slug", "updated_at")
    fields = ("slug", "title", "body", "updated_at")
    readonly_fields = ("updated_at",)
