from django.urls import path

from subscriptions import views

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("<int:pk>/", views.subscription, name="subscription"),
]
