from django.apps import AppConfig


class BaselinesConfig(AppConfig):
    name = "scoring.baselines"
    label = "baselines"
    verbose_name = "AutoGluon baselines"
