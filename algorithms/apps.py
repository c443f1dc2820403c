from django.apps import AppConfig


class AlgorithmsConfig(AppConfig):
    name = "algorithms"
    label = "algorithms"
    verbose_name = "Algorithms"
