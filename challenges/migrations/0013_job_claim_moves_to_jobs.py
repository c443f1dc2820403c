"""JobClaim moves to the jobs app (the lifecycle's own app): its table is kept and renamed
by jobs 0001; here it only leaves this app's state."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0012_revoked_api_tokens"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="JobClaim")],
            database_operations=[],
        ),
    ]
