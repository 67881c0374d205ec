"""The statistics in the API (/api/v1/statistics/): the tables of the dashboard (lending.figures)
for counter staff (their counters) and administrators (every counter), as JSON."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from lending.api import CounterStaffApi, valid_input
from lending.figures import TABLE_KEYS, Period, period_problem, statistics_report, statistics_scope
from lending.serializers import DayField, ErrorSerializer


class YearField(serializers.IntegerField):
    """A year in ASCII digits (int() would also take "２０２６")."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not data.strip().isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class StatisticsQuerySerializer(serializers.Serializer):
    year = YearField(min_value=2000, max_value=9999, required=False,
                                    help_text="A calendar year; default: this year. Not with first_day/last_day.")
    first_day = DayField(required=False, help_text="With last_day: any period instead of a year.")
    last_day = DayField(required=False)
    location = serializers.SlugField(required=False, max_length=50,
                                     help_text="A counter's slug; default: all the caller's counters.")

    def validate(self, data):
        first_day, last_day = data.get("first_day"), data.get("last_day")
        if bool(first_day) != bool(last_day):
            raise serializers.ValidationError(_("Give both first_day and last_day, or a year."))
        if first_day and data.get("year"):
            raise serializers.ValidationError(_("Give a year or first_day and last_day, not both."))
        if not first_day:
            year = data.get("year") or timezone.localdate().year
            first_day, last_day = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        problem = period_problem(first_day, last_day, timezone.localdate())
        if problem:
            raise serializers.ValidationError(problem)
        data["period"] = Period(first_day, last_day)
        return data


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "int", "percent", "decimal", "money", "month"],
                                   help_text="month: an ISO date, the month's first day; percent: 0–100.")


class TableSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=list(TABLE_KEYS))
    title = serializers.CharField()
    note = serializers.CharField()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.DictField(), help_text="One object per row, by column key.")
    total = serializers.DictField(allow_null=True)


class PeriodSerializer(serializers.Serializer):
    first_day = serializers.DateField()
    last_day = serializers.DateField()


class StatisticsSerializer(serializers.Serializer):
    period = PeriodSerializer()
    locations = serializers.ListField(child=serializers.SlugField(), allow_null=True,
                                      help_text="The counters counted; null: all counters.")
    tables = serializers.DictField(child=TableSerializer(), help_text="By table key.")


def _table(table):
    return {"key": table.key, "title": str(table.title), "note": str(table.note),
            "columns": [{"key": column.key, "label": str(column.label), "kind": column.kind}
                        for column in table.columns],
            "rows": table.rows, "total": table.total}


def _answer(request, keys=None):
    data = valid_input(StatisticsQuerySerializer, request.query_params)
    try:
        locations, _choices = statistics_scope(user=request.user, slug=data.get("location", ""))
    except LookupError:
        raise exceptions.NotFound(_("You do not work at a counter of this name.")) from None
    report = statistics_report(period=data["period"], locations=locations)
    return Response({
        "period": {"first_day": data["period"].first_day, "last_day": data["period"].last_day},
        "locations": None if locations is None else [location.slug for location in locations],
        "tables": {key: _table(table) for key, table in report.tables.items() if keys is None or key in keys},
    })


class StatisticsApi(CounterStaffApi):
    """Every table of the statistics for a year (default: this one) or a period."""

    @extend_schema(operation_id="statistics", parameters=[StatisticsQuerySerializer],
                   responses={200: StatisticsSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})
    def get(self, request):
        return _answer(request)


class StatisticsTableApi(CounterStaffApi):
    """One table of the statistics (`table`: overview, by_month, by_school_type, …)."""

    @extend_schema(operation_id="statistics_table", parameters=[StatisticsQuerySerializer],
                   responses={200: StatisticsSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})
    def get(self, request, table):
        if table not in TABLE_KEYS:
            raise exceptions.NotFound(_("There is no statistics table of this name."))
        return _answer(request, keys={table})
