from django.urls import path

from lending import api

app_name = "lending_api"

urlpatterns = [
    path("reservations/", api.ReservationCreateApi.as_view(), name="reservation_create"),
]
