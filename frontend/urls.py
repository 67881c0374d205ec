from django.urls import path

from frontend import views

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
    path("r/<str:code>", views.booking_scan, name="booking_scan"),
    path("u/<str:asset_tag>", views.unit_scan, name="unit_scan"),
    path("media/<path:path>", views.media, name="media"),
]
