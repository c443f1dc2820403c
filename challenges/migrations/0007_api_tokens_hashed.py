"""Existing API tokens keep working, stored hashed (issue 25).

DRF's ``authtoken`` kept every key in clear (and the console listed them). Each key is
moved into django-rest-knox's table as knox stores its own: the SHA-512 digest of the key
and its first 15 characters to find it, with the owner and creation time; then the clear
rows are deleted. A client sending ``Authorization: Token <old key>`` is authenticated as
before, and nothing readable of the key is left. Not reversible (the keys are gone): going
back leaves the hashed tokens in place.
"""

from django.db import migrations


def hash_existing_tokens(apps, schema_editor):
    from knox.crypto import hash_token  # the function knox checks keys with
    from knox.settings import CONSTANTS

    Token = apps.get_model("authtoken", "Token")
    AuthToken = apps.get_model("knox", "AuthToken")
    for token in Token.objects.all().iterator():
        digest = hash_token(token.key)
        AuthToken.objects.update_or_create(
            digest=digest,
            defaults={
                "token_key": token.key[: CONSTANTS.TOKEN_KEY_LENGTH],
                "user_id": token.user_id,
                "expiry": None,
            },
        )
        AuthToken.objects.filter(digest=digest).update(created=token.created)
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0006_flip_examples_and_prize_nfr_limit"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop, elidable=False),
    ]
