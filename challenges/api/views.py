"""API views for challenges, teams and tokens (docs/architecture.md §7)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import generics, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import rules, tokens
from ..models import Challenge, Team
from ..security import ScopedRateThrottle
from ..services import TeamError, team_create, team_member_add
from .errors import error_responses


class ChallengeListApi(generics.ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        tracks = serializers.SlugRelatedField(many=True, read_only=True, slug_field="slug")

        class Meta:
            model = Challenge
            fields = [
                "slug",
                "title",
                "description",
                "start",
                "end",
                "daily_submission_limit",
                "max_team_size",
                "tracks",
            ]

    serializer_class = OutputSerializer
    permission_classes = [AllowAny]
    queryset = Challenge.objects.prefetch_related("tracks").order_by("-start", "slug")


class TokenCreateApi(APIView):
    """POST: exchange a username and password for a new API token (its key is in this answer
    only: it is stored as a digest). DELETE: revoke the token that authenticates the call."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    permission_classes = [AllowAny]
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        description="Exchange a username and password for a new API token. Its key is in "
        "this answer only: the platform stores a digest, and lists the token by a prefix.",
        request=AuthTokenSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                {
                    400: "A field is missing, the username and password do not match "
                    "(`non_field_errors`), or the account holds the most tokens allowed "
                    "(`token_limit`).",
                    429: "Too many attempts from this address; see Retry-After.",
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            _, key = tokens.api_token_create(user=serializer.validated_data["user"])
        except tokens.TokenLimitReached as exc:
            response = Response({"detail": exc.message, "code": "token_limit"}, status=400)
        else:
            response = Response({"token": key})
        add_never_cache_headers(response)  # the answer is a credential
        return response

    @extend_schema(
        description="Revoke the API token this call is authenticated with (a logout).",
        request=None,
        responses={
            204: None,
            **error_responses({400: "The call was not authenticated by an API token."}),
        },
    )
    def delete(self, request: Request) -> Response:
        if not isinstance(request.auth, AuthToken):
            return Response(
                {
                    "detail": "Send the token to revoke as `Authorization: Token <key>`.",
                    "code": "not_a_token",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        tokens.api_token_revoke(token=request.auth, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamOutputSerializer(serializers.ModelSerializer):
    challenge = serializers.SlugRelatedField(read_only=True, slug_field="slug")
    members = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username")

    class Meta:
        model = Team
        fields = ["id", "name", "challenge", "invite_code", "members", "created_at"]


def _team_error(exc: TeamError) -> Response:
    code = (
        status.HTTP_409_CONFLICT
        if exc.code in {"already_in_team", "name_taken", "conflict", "team_full", "already_entered"}
        else status.HTTP_400_BAD_REQUEST
    )
    if exc.code == "disqualified":
        code = status.HTTP_403_FORBIDDEN
    if exc.code == "bad_code":
        code = status.HTTP_404_NOT_FOUND
    return Response({"detail": exc.message, "code": exc.code}, status=code)


class TeamCreateApi(APIView):
    """Create a team in a challenge with the caller in it; returns its invite code."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: TeamOutputSerializer,
            **error_responses(
                {
                    400: "The name is missing, too long or imitates the organizers' entries "
                    "(`name_reserved`).",
                    403: "A team of the caller in this challenge was disqualified "
                    "(`disqualified`).",
                    404: "No such challenge.",
                    409: "Already in a team of this challenge (`already_in_team`), already "
                    "submitted with another team (`already_entered`), or the name (or a "
                    "look-alike of it) is taken (`name_taken`).",
                }
            ),
        },
    )
    def post(self, request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            team = team_create(
                challenge=challenge, user=request.user, name=data.validated_data["name"]
            )
        except TeamError as exc:
            return _team_error(exc)
        return Response(TeamOutputSerializer(team).data, status=status.HTTP_201_CREATED)


class TeamJoinApi(APIView):
    """Join a team with its invite code."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: TeamOutputSerializer,
            **error_responses(
                {
                    400: "The code is missing or too long.",
                    403: "A team of the caller in this challenge was disqualified "
                    "(`disqualified`).",
                    404: "No team has this invite code (`bad_code`).",
                    409: "Already in a team of this challenge, already submitted with another "
                    "team (`already_entered`), or the team is full.",
                }
            ),
        },
    )
    def post(self, request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            team = team_member_add(user=request.user, code=data.validated_data["code"])
        except TeamError as exc:
            return _team_error(exc)
        return Response(TeamOutputSerializer(team).data)


class RulesOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    text = serializers.CharField(help_text="Markdown; empty when there is nothing to accept.")
    accepted = serializers.BooleanField(
        help_text="Whether the caller may act: the current version is accepted, or nothing "
        "needs accepting."
    )
    required = serializers.BooleanField(help_text="Whether the challenge has rules to accept.")
    accepted_at = serializers.DateTimeField(allow_null=True)


def _rules_output(challenge: Challenge, user: AbstractBaseUser | AnonymousUser) -> dict:
    acceptance = rules.rules_acceptance_current(challenge=challenge, user=user)
    return {
        "version": challenge.rules_version,
        "text": challenge.rules,
        "accepted": rules.rules_accepted(challenge=challenge, user=user),
        "required": rules.rules_required(challenge=challenge),
        "accepted_at": acceptance.accepted_at if acceptance else None,
    }


class ChallengeRulesApi(APIView):
    """A challenge's rules, their version, and whether the caller accepted them."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: RulesOutputSerializer})
    def get(self, request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        return Response(RulesOutputSerializer(_rules_output(challenge, request.user)).data)


class ChallengeRulesAcceptApi(APIView):
    """Accept the current version of the rules (``{"version": N}``; a stale N is refused)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

    @extend_schema(request=InputSerializer, responses={200: RulesOutputSerializer})
    def post(self, request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            return Response(
                {
                    "code": "invalid",
                    "detail": f'Send {{"version": {challenge.rules_version}}}: the version of '
                    "the rules you accept, a whole number.",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            rules.rules_accept(
                challenge=challenge, user=request.user, version=data.validated_data["version"]
            )
        except rules.RulesError as exc:
            code = (
                status.HTTP_409_CONFLICT
                if exc.code == "rules_version_stale"
                else status.HTTP_400_BAD_REQUEST
            )
            return Response(
                {"code": exc.code, "detail": exc.message, "version": challenge.rules_version},
                status=code,
            )
        return Response(RulesOutputSerializer(_rules_output(challenge, request.user)).data)


# The API's index (``GET /api/v1/``): where to start, by URL name. Collections first, then the
# endpoints of one object as URI templates (RFC 6570 level 1: ``{slug}``, ``{id}``).
INDEX_COLLECTIONS = {
    "challenges": "api-challenge-list",
    "tasks": "api-task-list",
    "submissions": "api-submission-list",
    "algorithms": "api-algorithm-list",
    "auth_token": "api-token",
    "team_join": "api-team-join",
}
INDEX_TEMPLATES = {
    "challenge_rules": ("api-rules", "slug"),
    "challenge_teams": ("api-team-create", "slug"),
    "challenge_standings": ("api-challenge-standings", "slug"),
    "challenge_benchmark": ("api-challenge-benchmark", "slug"),
    "task": ("api-task-detail", "slug"),
    "task_submissions": ("api-submission-create", "slug"),
    "task_leaderboard": ("api-task-leaderboard", "slug"),
    "task_post_challenge": ("api-task-post-challenge", "slug"),
    "track_leaderboard": ("api-track-leaderboard", "slug"),
    "track_transfer": ("api-track-transfer", "slug"),
    "submission": ("api-submission-detail", "pk"),
    "algorithm": ("api-algorithm-detail", "pk"),
    "algorithm_run": ("api-algorithm-run-detail", "pk"),
}


def _template(name: str, kwarg: str) -> str:
    """The path of ``name`` with its argument left as a template variable."""
    placeholder = "index-placeholder" if kwarg == "slug" else "987654321"
    variable = "{slug}" if kwarg == "slug" else "{id}"
    return reverse(name, kwargs={kwarg: placeholder}).replace(placeholder, variable)


class ApiIndexApi(APIView):
    """The API's index: its version, its schema and documentation, how to authenticate,
    and links to its main endpoints (collections, then URI templates of one object's)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        version = serializers.CharField()
        schema = serializers.URLField(help_text="The OpenAPI schema of every endpoint.")
        docs = serializers.URLField(help_text="The schema as a page (Swagger UI).")
        authentication = serializers.CharField()
        endpoints = serializers.DictField(child=serializers.URLField())
        templates = serializers.DictField(
            child=serializers.CharField(), help_text="URI templates: fill {slug} or {id}."
        )

    @extend_schema(operation_id="api_index", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        root = request.build_absolute_uri("/").rstrip("/")  # braces of a template stay as is

        def absolute(path: str) -> str:
            return root + path

        return Response(
            {
                "version": "v1",
                "schema": absolute(reverse("api-schema")),
                "docs": absolute(reverse("api-docs")),
                "authentication": "Authorization: Token <key> (POST auth_token with a username "
                "and password to get one; the account page makes one too)",
                "endpoints": {
                    key: absolute(reverse(name)) for key, name in INDEX_COLLECTIONS.items()
                },
                "templates": {
                    key: absolute(_template(name, kwarg))
                    for key, (name, kwarg) in INDEX_TEMPLATES.items()
                },
            }
        )
