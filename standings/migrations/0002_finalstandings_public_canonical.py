from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("standings", "0001_final_standings_and_writeups"),
    ]

    operations = [
        migrations.AddField(
            model_name="finalstandings",
            name="public_canonical",
            field=models.TextField(blank=True, default="", editable=False),
        ),
    ]
