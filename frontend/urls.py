from django.urls import path

from frontend import (
    calendar_views,
    contact_views,
    counter_views,
    damage_views,
    qualification_views,
    statistics_views,
    tour_views,
    views,
    waitlist_views,
)

app_name = "frontend"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("artikel/<slug:slug>/", views.item_detail, name="item_detail"),
    path("korb/", views.basket_page, name="basket"),
    path("korb/hinzufuegen/<slug:slug>/", views.basket_add, name="basket_add"),
    path("korb/buchen/", views.booking_create, name="booking_create"),
    path("buchungen/", views.my_bookings, name="my_bookings"),
    path("buchungen/<str:code>/", views.booking_detail, name="booking_detail"),
    path("buchungen/<str:code>/qr.svg", views.booking_qr, name="booking_qr"),
    path("buchungen/<str:code>/aendern/", views.booking_change, name="booking_change"),
    path("buchungen/<str:code>/stornieren/", views.booking_cancel, name="booking_cancel"),
    path("buchungen/<str:code>/kollegin/", views.booking_colleague, name="booking_colleague"),
    path("warteliste/beitreten/", waitlist_views.join, name="waitlist_join"),
    path("warteliste/<str:pk>/buchen/", waitlist_views.book, name="waitlist_book"),
    path("warteliste/<str:pk>/verlassen/", waitlist_views.leave, name="waitlist_leave"),
    path("r/<str:code>", views.booking_scan, name="booking_scan"),
    path("u/<str:asset_tag>", views.unit_scan, name="unit_scan"),
    path("media/<path:path>", views.media, name="media"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Calendar feeds and the .ics download (frontend/calendar_views.py)
    path("kalender/<str:token>.ics", calendar_views.personal_feed, name="calendar_feed"),
    path("kalender/<str:token>/theke/<slug:location>.ics", calendar_views.counter_feed, name="calendar_counter_feed"),
    # The same feeds under the English path some clients and documentation expect.
    path("calendar/<str:token>.ics", calendar_views.personal_feed),
    path("calendar/<str:token>/counter/<slug:location>.ics", calendar_views.counter_feed),
    path("buchungen/<str:code>/kalender.ics", calendar_views.booking_calendar, name="booking_calendar"),
    path("konto/kontakt/", contact_views.contact_email, name="contact_email"),
    # The counter (frontend/counter_views.py)
    path("theke/", counter_views.counter_index, name="counter_index"),
    path("theke/<slug:location>/", counter_views.agenda, name="counter"),
    path("theke/<slug:location>/scan/", counter_views.scan, name="counter_scan"),
    path("theke/<slug:location>/buchung/<str:code>/", counter_views.booking, name="counter_booking"),
    path("theke/<slug:location>/buchung/<str:code>/ausgeben/", counter_views.handover_confirm,
         name="counter_handover_confirm"),
    path("theke/<slug:location>/buchung/<str:code>/leihschein.pdf", counter_views.loan_slip,
         name="counter_loan_slip"),
    path("theke/<slug:location>/buchung/<str:code>/verlaengern/", counter_views.extend, name="counter_extend"),
    path("theke/<slug:location>/buchung/<str:code>/bestaetigung-senden/", counter_views.resend_confirmation,
         name="counter_resend_confirmation"),
    path("theke/<slug:location>/buchung/<str:code>/nicht-abgeholt/", counter_views.no_show,
         name="counter_no_show"),
    path("theke/<slug:location>/exemplar/<str:asset_tag>/", counter_views.unit, name="counter_unit"),
    path("theke/<slug:location>/spontan/", counter_views.walk_in, name="counter_walk_in"),
    path("theke/<slug:location>/etiketten/", counter_views.labels, name="counter_labels"),
    path("theke/<slug:location>/warteliste/", waitlist_views.counter_waitlist, name="counter_waitlist"),
    path("theke/<slug:location>/tour/", tour_views.tour, name="counter_tour"),
    path("theke/<slug:location>/tour/tourenliste.pdf", tour_views.tour_pdf, name="counter_tour_pdf"),
    path("theke/<slug:location>/tour/<str:code>/", tour_views.stop, name="tour_stop"),
    # Qualifications at the counter (frontend/qualification_views.py)
    path("theke/<slug:location>/qualifikationen/", qualification_views.qualifications, name="counter_qualifications"),
    path("theke/<slug:location>/qualifikationen/<int:pk>/entziehen/", qualification_views.revoke,
         name="counter_qualification_revoke"),
    # Damage reports and statistics (frontend/damage_views.py)
    path("buchungen/<str:code>/schaden-melden/", damage_views.damage_report_new, name="damage_report_new"),
    path("theke/<slug:location>/schaeden/", damage_views.damage_reports, name="counter_damage_reports"),
    path("theke/<slug:location>/schaeden/<int:pk>/", damage_views.damage_report_detail, name="counter_damage_report"),
    path("theke/<slug:location>/statistik/", damage_views.damage_statistics, name="counter_statistics"),
    path("statistik/", statistics_views.dashboard, name="statistics"),
    path("statistik/download.<str:fmt>", statistics_views.download, name="statistics_download"),
    # end damage
]
