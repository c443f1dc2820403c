"""API views for challenges, teams and tokens."""

from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from ..models import Challenge


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
    queryset = Challenge.objects.prefetch_related("tracks")
