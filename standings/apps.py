from django.apps import AppConfig

from challenges.stored_files import forget_on_delete


class StandingsConfig(AppConfig):
    name = "standings"
    verbose_name = "Final standings and write-ups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from challenges.upload_budget import team_storage_register

        forget_on_delete(model="standings.MethodWriteup")  # a deleted write-up takes its PDF
        # A team's write-up PDF counts against its storage quota with its other uploads.
        team_storage_register(label="write-up PDFs", counter=_team_writeup_pdfs)


def _team_writeup_pdfs(*, team_pk: int) -> tuple[int, int]:
    from standings.writeups import team_writeup_pdfs

    return team_writeup_pdfs(team_pk=team_pk)
