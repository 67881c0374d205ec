from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, Qualification, QualificationGrant, School, User
from catalog.admin import RaisesCatalogueVersion, TabularInline


class QualificationGrantInline(TabularInline):
    model = QualificationGrant
    # QualificationGrant has two keys to User; the grants of a user hang on `user`.
    fk_name = "user"
    extra = 0
    fields = ("qualification", "granted_on", "expires_on", "granted_by")
    autocomplete_fields = ("qualification", "granted_by")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Media centre"), {"fields": ("role", "schools", "locations")}),)
    add_fieldsets = DjangoUserAdmin.add_fieldsets + ((_("Media centre"), {"fields": ("role", "schools", "locations")}),)
    list_display = ("username", "first_name", "last_name", "email", "role", "is_active", "is_staff", "last_login")
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "schools__school_type", "qualifications")
    search_fields = ("username", "first_name", "last_name", "email", "schools__name", "schools__number")
    filter_horizontal = ("groups", "user_permissions", "schools", "locations")
    inlines = (QualificationGrantInline,)

    def save_formset(self, request, form, formset, change):
        # Record who granted a qualification when the admin leaves the field empty.
        for instance in formset.save(commit=False):
            if isinstance(instance, QualificationGrant) and instance.granted_by_id is None:
                instance.granted_by = request.user
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "number", "school_type", "user_count", "active")
    list_filter = ("school_type", "active")
    search_fields = ("name", "number", "sso_id")
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(user_count=Count("users", distinct=True))

    @admin.display(description=_("users"), ordering="user_count")
    def user_count(self, school):
        return school.user_count


@admin.register(Qualification)
class QualificationAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    list_display = ("name", "holder_count")
    search_fields = ("name", "description")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(holder_count=Count("grants", distinct=True))

    @admin.display(description=_("holders"), ordering="holder_count")
    def holder_count(self, qualification):
        return qualification.holder_count


@admin.register(QualificationGrant)
class QualificationGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "qualification", "granted_on", "expires_on", "granted_by")
    list_filter = ("qualification", "granted_on", "expires_on")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email", "qualification__name")
    autocomplete_fields = ("user", "qualification", "granted_by")
    list_select_related = ("user", "qualification", "granted_by")
    date_hierarchy = "granted_on"

    def save_model(self, request, obj, form, change):
        if obj.granted_by_id is None:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owners on the account page (the only time one is readable);
    here administrators see them and can revoke (delete) one."""

    list_display = ("name", "user", "scope", "prefix", "created_at", "last_used_at", "expires_at")
    list_filter = ("scope",)
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("user", "name", "scope", "prefix", "created_at", "last_used_at", "expires_at")
    exclude = ("token_hash",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
