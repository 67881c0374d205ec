from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("mail/erinnerungen-abbestellen/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
