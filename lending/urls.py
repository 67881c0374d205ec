from django.urls import path, re_path

from accounts import api as accounts_api
from lending import api, statistics_api, waitlist_api

app_name = "lending_api"

urlpatterns = [
    path("reservations/", api.ReservationCreateApi.as_view(), name="reservation_create"),
    path("reservations/<str:code>/", api.ReservationDetailApi.as_view(), name="reservation_detail"),
    path("reservations/<str:code>/cancel/", api.ReservationCancelApi.as_view(), name="reservation_cancel"),
    path("reservations/<str:code>/colleague/", api.ReservationColleagueApi.as_view(), name="reservation_colleague"),
    path("waitlist/", waitlist_api.WaitlistApi.as_view(), name="waitlist"),
    path("waitlist/<int:pk>/", waitlist_api.WaitlistEntryApi.as_view(), name="waitlist_entry"),
    path("waitlist/<int:pk>/book/", waitlist_api.WaitlistBookApi.as_view(), name="waitlist_book"),
    path("item-types/", api.ItemTypeListApi.as_view(), name="item_type_list"),
    path("item-types/<slug:slug>/", api.ItemTypeDetailApi.as_view(), name="item_type_detail"),
    path("availability/", api.AvailabilityApi.as_view(), name="availability"),
    path("counter/scan/", api.CounterScanApi.as_view(), name="counter_scan"),
    path("counter/handover/", api.CounterHandoverApi.as_view(), name="counter_handover"),
    path("counter/return/", api.CounterReturnApi.as_view(), name="counter_return"),
    path("units/", api.UnitListApi.as_view(), name="unit_list"),
    # Only what an asset tag can be (catalog.models.ASSET_TAG_VALIDATOR): anything else is a 404
    # before it reaches the database (PostgreSQL refuses a NUL byte in a query with an error).
    re_path(r"^units/(?P<asset_tag>[A-Za-z0-9][A-Za-z0-9-]{0,39})/$", api.UnitDetailApi.as_view(), name="unit_detail"),
    path("schools/", accounts_api.SchoolListApi.as_view(), name="school_list"),
    path("schools/<int:pk>/", accounts_api.SchoolDetailApi.as_view(), name="school_detail"),
    path("damage-reports/", api.DamageReportListApi.as_view(), name="damage_report_list"),
    path("damage-reports/<int:pk>/", api.DamageReportDetailApi.as_view(), name="damage_report_detail"),
    path("statistics/", statistics_api.StatisticsApi.as_view(), name="statistics"),
    path("statistics/<slug:table>/", statistics_api.StatisticsTableApi.as_view(), name="statistics_table"),
]
