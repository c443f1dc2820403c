from django.apps import AppConfig


class AlgorithmsConfig(AppConfig):
    name = "algorithms"
    label = "algorithms"
    verbose_name = "Algorithms"

    def ready(self) -> None:
        """Add the baseline's part to the task owner's page, which lives in scoring, a layer
        below (arrows point down: scoring never names this app)."""
        from algorithms.owner_page import BASELINE_SECTION
        from scoring.owner_sections import owner_section_register

        owner_section_register(BASELINE_SECTION)
