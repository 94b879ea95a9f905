from django.urls import path

from pairing import request_views

app_name = "requests"

urlpatterns = [
    path("", request_views.request_list, name="list"),
    path("pair/", request_views.pair_by_hand, name="pair"),
    path("<int:request_id>/cancel/", request_views.request_cancel, name="cancel"),
]
