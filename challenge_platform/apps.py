from django.apps import AppConfig


class ChallengePlatformConfig(AppConfig):
    name = "challenge_platform"
    label = "challenge_platform"
    verbose_name = "Challenges and teams"
