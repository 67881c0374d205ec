"""Qualifications at the counter: find a teacher, see what they hold, grant, renew and revoke.

Qualifications hold at every counter, but the pages hang under a counter like the others, so
only staff who work there open them (lending.selectors.counter_location_get: 403 for anyone
else). The services in accounts.qualifications decide; a refusal is shown with its HTTP status
and nothing is written.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Qualification, QualificationGrant, Role, User
from accounts.qualifications import (
    QualificationError,
    qualification_grant,
    qualification_revoke,
    qualifications_of,
)
from accounts.selectors import teachers_matching
from frontend.counter_forms import TeacherSearchForm
from frontend.widgets import DateInput
from lending.selectors import counter_location_get

TEMPLATE = "counter/qualifications.html"


class QualificationGrantForm(forms.Form):
    """Checks input only; qualification_grant decides (for example that the dates fit together)."""

    qualification = forms.ModelChoiceField(
        label=gettext_lazy("Qualification"), queryset=Qualification.objects.order_by("name"),
        help_text=gettext_lazy("Granting one the teacher already holds renews it with the new dates."),
    )
    granted_on = forms.DateField(label=gettext_lazy("Granted on"), widget=DateInput())
    expires_on = forms.DateField(
        label=gettext_lazy("Expires on"), required=False, widget=DateInput(),
        help_text=gettext_lazy("Leave empty if it does not expire."),
    )


def _teacher(teacher_id):
    """The active teacher with this id; 404 for anything else (an id is all the page passes on)."""
    if not (teacher_id.isascii() and teacher_id.isdigit()):
        raise Http404
    return get_object_or_404(User.objects.filter(role=Role.TEACHER, is_active=True), pk=teacher_id)


def _teacher_url(location, teacher):
    return f"{reverse('frontend:counter_qualifications', args=[location.slug])}?teacher={teacher.pk}"


def _render_teacher(request, location, teacher, *, form=None, status=200, error=None):
    today = timezone.localdate()
    context = {
        "location": location, "teacher": teacher, "today": today,
        "grants": qualifications_of(teacher, today=today),
        "form": form or QualificationGrantForm(initial={"granted_on": today}),
    }
    if error is not None:
        messages.error(request, error.message)
        context["error_code"] = error.code
        status = error.http_status
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def qualifications(request, location):
    """Search a teacher; for the teacher chosen, their qualifications and a form to grant one."""
    location = counter_location_get(user=request.user, slug=location)
    teacher_id = request.POST.get("teacher") if request.method == "POST" else request.GET.get("teacher")
    if not teacher_id:
        search = TeacherSearchForm(request.GET or None)
        context = {
            "location": location, "search": search,
            "teachers": teachers_matching(search.cleaned_data["q"]) if search.is_valid() else None,
        }
        # A grant posted without a teacher, or a search too short, is a bad request.
        bad = request.method == "POST" or (search.is_bound and not search.is_valid())
        return render(request, TEMPLATE, context, status=400 if bad else 200)
    teacher = _teacher(teacher_id)
    if request.method == "GET":
        return _render_teacher(request, location, teacher)
    form = QualificationGrantForm(request.POST)
    if not form.is_valid():
        return _render_teacher(request, location, teacher, form=form, status=400)
    qualification = form.cleaned_data["qualification"]
    renewal = QualificationGrant.objects.filter(user=teacher, qualification=qualification).exists()
    try:
        qualification_grant(
            actor=request.user, user=teacher, qualification=qualification,
            granted_on=form.cleaned_data["granted_on"], expires_on=form.cleaned_data["expires_on"],
        )
    except QualificationError as error:
        return _render_teacher(request, location, teacher, form=form, error=error)
    if renewal:
        message = _("%(qualification)s renewed for %(teacher)s.")
    else:
        message = _("%(qualification)s granted to %(teacher)s.")
    messages.success(request, message % {"qualification": qualification.name, "teacher": teacher})
    return redirect(_teacher_url(location, teacher))


@login_required
@require_POST
def revoke(request, location, pk):
    """Take a qualification away from a teacher."""
    location = counter_location_get(user=request.user, slug=location)
    grant = get_object_or_404(QualificationGrant.objects.select_related("user", "qualification"), pk=pk)
    try:
        qualification_revoke(actor=request.user, grant=grant)
    except QualificationError as error:
        return _render_teacher(request, location, grant.user, error=error)
    messages.success(request, _("%(qualification)s revoked for %(teacher)s.") % {
        "qualification": grant.qualification.name, "teacher": grant.user,
    })
    return redirect(_teacher_url(location, grant.user))
