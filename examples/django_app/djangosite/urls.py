from django.urls import include, path

urlpatterns = [path("subscriptions/", include("subscriptions.urls"))]
