"""Root URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.cache import never_cache
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from challenges import views
from challenges.accounts.views import LoginView

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("challenges.api.urls")),
    path("", include("datasets.api_urls")),
    path("", include("scoring.api_urls")),
    path("", include("leaderboard.api_urls")),
    path("", include("algorithms.api_urls")),
    path("", include("standings.api_urls")),
    path("", include("discussion.api_urls")),
]

# The datasets namespace: the task's files and its page, which is composed in leaderboard (the
# lowest layer that knows its submit panel and board); its name stays ``datasets:task-detail``.
datasets_pages = [
    path("", include("leaderboard.task_page_urls")),
    path("", include("datasets.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", never_cache(views.healthz), name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("c/<slug:slug>/rules/", views.challenge_rules, name="challenge-rules"),
    path("c/<slug:slug>/teams/new/", views.team_create, name="team-create"),
    path("join/", views.team_join, name="team-join"),
    path("join/<str:code>/", views.team_join, name="team-join-code"),
    path("teams/<int:pk>/leave/", views.team_leave, name="team-leave"),
    path("account/token/", views.api_token, name="api-token-page"),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # allauth's names for the same two pages (its flows reverse them).
    path("accounts/login/", LoginView.as_view(), name="account_login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="account_logout"),
    # Sign-up, e-mail confirmation, password reset, OpenID Connect (allauth).
    path("accounts/", include("challenges.accounts.urls")),
    path("api/v1/", include(api_v1)),
    path("", include((datasets_pages, "datasets"))),
    path("", include("scoring.urls")),
    path("", include("leaderboard.urls")),
    path("", include("algorithms.urls")),
    path("", include("standings.urls")),
    path("", include("notifications.urls")),
    path("", include("discussion.urls")),
    # The challenge and team pages: composed of several apps' parts, in the top layer.
    path("", include("site_pages.urls")),
]

handler404 = "challenges.views.page_not_found"
