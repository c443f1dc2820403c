"""Look-alike team names (issue 15): one name whatever its width, case, invisible characters
or Cyrillic/Greek letters; names imitating the organizers' baseline or references refused;
the database holds the rule too (``name_key`` unique per challenge)."""

from __future__ import annotations

import importlib

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from challenges.models import Team, TeamMembership
from challenges.services import TeamError, team_create
from challenges.team_names import (
    name_glyph_key,
    team_name_imitates,
    team_name_key,
    unique_name_keys,
)

from .factories import ChallengeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# (existing team, attempted name): the attempt reads as the existing name.
SAME_NAME = [
    ("Owls", "owls"),
    ("Owls", "OWLS"),
    ("Owls", "Ｏｗｌｓ"),  # fullwidth
    ("Owls", "O\u200bwls"),  # zero-width space
    ("Owls", "Ow\u200dls\u200c"),  # zero-width joiner / non-joiner
    ("Owls", "\ufeffOwls"),  # byte-order mark
    ("Owls", "Owls\u202e"),  # bidi override (Cf)
    ("Owls", "Owls\ufe0f"),  # variation selector
    ("Owls", "\u041ewls"),  # Cyrillic capital O
    ("Night Owls", "Night   Owls"),  # collapsed whitespace
    ("Night Owls", "Night\u00a0Owls"),  # no-break space (NFKC)
    ("Night Owls", "Night\u2003Owls"),  # em space
    ("Paper", "\u0440\u0430\u0440\u0435r"),  # Cyrillic р а р е
    ("Alpha", "\u0391lpha"),  # Greek capital alpha
    ("Straße", "STRASSE"),  # case folding
    ("ﬁsh", "fish"),  # ligature (NFKC)
    # Issue 25: the UTS #39 skeleton, whitespace folded, blank-looking characters.
    ("AliceTeam", "AliceTeam\u2800"),  # braille pattern blank
    ("AliceTeam", "AIiceTeam"),  # capital i for l
    ("AliceTeam", "Alice Team"),  # a space
    ("AliceTeam", "Alice\u3164Team"),  # Hangul filler
    ("AliceTeam", "\u115f\u1160AliceTeam\uffa0"),  # Hangul choseong/jungseong/halfwidth fillers
    ("AliceTeam", "\u0430liceTeam"),  # Cyrillic а
    ("Modern", "rnodern"),  # rn for m
    ("Pool", "P00l"),  # zeros for o
    # Issue 39: combining marks removed (after NFKC, before the skeleton), small capitals read
    # as their small letters. A mark may be a separate character or composed into its letter.
    ("AliceTeam", "Ali\u0307ceTeam"),  # combining dot above
    ("AliceTeam", "Ali\u0301ceTeam"),  # combining acute accent (NFC composes it: í)
    ("AliceTeam", "Ali\u0323ceTeam"),  # combining dot below
    ("AliceTeam", "Ali\u0303ceTeam"),  # combining tilde (NFC: ĩ)
    ("AliceTeam", "\u1d00liceTeam"),  # ᴀ LATIN LETTER SMALL CAPITAL A
    ("AliceTeam", "Alice\u1d1beam"),  # ᴛ LATIN LETTER SMALL CAPITAL T
    ("AliceTeam", "A\u20ddliceTeam"),  # combining enclosing circle (an enclosing mark)
    ("Team", "Téam"),  # a precomposed accent is the same letter and mark
    # Issue 51: the skeleton of the case-folded name, punctuation, dashes and stretching
    # folded; є (U+0454) reads as e.
    ("AliceTeam", "ALICETEAM"),  # the skeleton of I is l: case is folded first too
    ("AliceTeam", "Alic\u0454Team"),  # Cyrillic є (the skeleton's ꞓ)
    ("AliceTeam", "Alic\u03b5Team"),  # Greek ε
    ("AliceTeam", "Alice\u0640Team"),  # Arabic tatweel
    ("AliceTeam", "Alice-Team"),
    ("AliceTeam", "Alice.Team"),
    ("AliceTeam", "Alice_Team"),
    ("AliceTeam", "(Alice) Team!"),
    ("AliceTeam", "Alice\u2014Team"),  # em dash (its skeleton is a katakana letter)
    ("AliceTeam", "Alice\u2212Team"),  # minus sign (its skeleton is a hyphen)
    ("BobTeam", "BobTeam\u1806"),  # Mongolian todo soft hyphen
    ("BobTeam", "Bob\u2e3aTeam"),  # two-em dash
    ("BobTeam", "Bob\u2e3bTeam"),  # three-em dash
    ("BobTeam", "B\u00b7o\u00b7b Team"),  # middle dots
]

# Issue 51: 55 names a person reads as different, all taken in one challenge: the comparison
# must refuse look-alikes without refusing these (near neighbours on purpose).
DISTINCT_NAMES = [
    "AliceTeam", "BobTeam", "Alicia", "Alina", "Alpha", "Alpha Two", "Beta", "Gamma",
    "Delta Force", "Owls", "Owl", "Night Owls", "Herons", "Tean", "Team", "Team A", "Team B",
    "Team C", "Team 1", "Team 2", "Team 10", "Data Wizards", "Data Wizard", "DataWiz",
    "Matchmakers", "Match Makers United", "Record Linkers", "Entity Resolvers", "Deep Forest",
    "Random Forest", "Gradient Boosters", "LightGBM Fans", "CatBoosters", "XG Crew",
    "Tabular Titans", "Multimodal Minds", "Vision and Text", "Pixels", "Tokens", "Embeddings",
    "Bayes Bunch", "Frequentists", "Null Hypothesis", "P Hackers Anonymous", "Zero Shot",
    "Few Shot", "Сова",  # Cyrillic: owl
    "Κουκουβάγια",  # Greek: owl
    "データ班",  # Japanese: data squad
    "数据队",  # Chinese: data team
    "فريق البيانات",  # Arabic: data team
    "צוות נתונים",  # Hebrew: data team
    "Équipe Données", "Straße", "Ærø",
]  # fmt: skip

IMITATIONS = [
    "Baseline",
    "baseline",
    "AutoGluon baseline",
    "Auto-Gluon",
    "B\u0430seline",  # Cyrillic а
    "Base1ine",
    "B a s e l i n e",
    "Base\u200bline",
    "Reference",
    "reference solution",
    "R.E.F.E.R.E.N.C.E",
    "Organizers",
    "Ｂａｓｅｌｉｎｅ",
]

DIFFERENT = [("Owls", "Owl"), ("Owls", "Owls 2"), ("Team A", "Team B"), ("Tean", "Team")]


def state(challenge) -> tuple:
    return (
        sorted(Team.objects.filter(challenge=challenge).values_list("pk", "name")),
        TeamMembership.objects.count(),
    )


@pytest.mark.parametrize(("existing", "attempt"), SAME_NAME)
def test_a_look_alike_of_an_existing_name_is_refused_naming_the_team(existing, attempt):
    challenge = ChallengeFactory()
    team_create(challenge=challenge, user=UserFactory(), name=existing)
    before = state(challenge)
    with pytest.raises(TeamError) as caught:
        team_create(challenge=challenge, user=UserFactory(), name=attempt)
    assert caught.value.code == "name_taken"
    assert f"“{existing}”" in caught.value.message
    assert state(challenge) == before


def test_fifty_five_distinct_names_are_all_accepted_in_one_challenge():
    assert len(DISTINCT_NAMES) == len(set(DISTINCT_NAMES)) == 55
    challenge = ChallengeFactory()
    for name in DISTINCT_NAMES:
        team_create(challenge=challenge, user=UserFactory(), name=name)
    assert sorted(Team.objects.filter(challenge=challenge).values_list("name", flat=True)) == (
        sorted(DISTINCT_NAMES)
    )


def test_a_name_of_only_punctuation_is_refused_with_its_reason():
    challenge = ChallengeFactory()
    with pytest.raises(TeamError) as caught:
        team_create(challenge=challenge, user=UserFactory(), name="--- ...")
    assert caught.value.code == "name_invalid" and "letter or a digit" in caught.value.message


def test_either_reading_of_a_capital_i_is_held_by_the_database_too():
    challenge = ChallengeFactory()
    TeamFactory(challenge=challenge, name="AliceTeam")
    for look_alike in ("ALICETEAM", "AIiceTeam"):  # name_key, then name_glyph_key
        with pytest.raises(IntegrityError), transaction.atomic():
            Team.objects.create(challenge=challenge, name=look_alike)


@pytest.mark.parametrize("name", IMITATIONS)
def test_names_imitating_the_baseline_or_a_reference_are_refused(name):
    challenge = ChallengeFactory()
    before = state(challenge)
    with pytest.raises(TeamError) as caught:
        team_create(challenge=challenge, user=UserFactory(), name=name)
    assert caught.value.code == "name_reserved"
    assert "organizers" in caught.value.message
    assert state(challenge) == before


@pytest.mark.parametrize(("existing", "attempt"), DIFFERENT)
def test_different_names_stay_different(existing, attempt):
    challenge = ChallengeFactory()
    team_create(challenge=challenge, user=UserFactory(), name=existing)
    team_create(challenge=challenge, user=UserFactory(), name=attempt)
    assert team_name_imitates(name=attempt) is None


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200d\ufeff", "   ", "\ufe0f"])
def test_a_name_of_only_invisible_characters_is_no_name(name):
    challenge = ChallengeFactory()
    with pytest.raises(TeamError) as caught:
        team_create(challenge=challenge, user=UserFactory(), name=name)
    assert caught.value.code == "name_required"
    assert not Team.objects.filter(challenge=challenge).exists()


def test_the_database_refuses_look_alikes_written_around_the_service():
    challenge = ChallengeFactory()
    TeamFactory(challenge=challenge, name="Owls")
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(challenge=challenge, name="O\u200bWLS")
    TeamFactory(challenge=ChallengeFactory(), name="OWLS")  # another challenge is fine


def test_renaming_keeps_the_key_in_step():
    team = TeamFactory(name="Owls")
    team.name = "Herons"
    team.save(update_fields=["name"])
    team.refresh_from_db()
    assert team.name_key == team_name_key(name="HERONS") == "herons"


def test_the_api_answers_409_with_the_existing_name_and_400_for_imitations():
    challenge = ChallengeFactory(slug="names")
    team_create(challenge=challenge, user=UserFactory(), name="Owls")
    client = APIClient()
    client.force_authenticate(UserFactory())
    taken = client.post("/api/v1/challenges/names/teams/", {"name": "ＯＷＬＳ"}, format="json")
    assert taken.status_code == 409 and "“Owls”" in taken.json()["detail"]
    fake = client.post("/api/v1/challenges/names/teams/", {"name": "Baseline"}, format="json")
    assert fake.status_code == 400 and fake.json()["code"] == "name_reserved"


@pytest.mark.parametrize("odd", ["\u0307", "\u0301", "\u0323", "\u0303", "\u1d00"])
def test_the_api_refuses_a_mark_or_small_capital_look_alike_with_409(odd):
    """Issue 39's probe: ``Ali\u0307ceTeam`` beside ``AliceTeam`` was accepted."""
    challenge = ChallengeFactory(slug="marks")
    team_create(challenge=challenge, user=UserFactory(), name="AliceTeam")
    attempt = "\u1d00liceTeam" if odd == "\u1d00" else f"Ali{odd}ceTeam"
    client = APIClient()
    client.force_authenticate(UserFactory())
    answer = client.post("/api/v1/challenges/marks/teams/", {"name": attempt}, format="json")
    assert answer.status_code == 409, answer.content
    assert answer.json()["code"] == "name_taken" and "“AliceTeam”" in answer.json()["detail"]
    assert list(Team.objects.filter(challenge=challenge).values_list("name", flat=True)) == [
        "AliceTeam"
    ]


def test_the_data_migration_keys_old_look_alikes_apart_without_renaming():
    """Rows from before the key: the oldest keeps the plain key, later look-alikes get
    ``#pk``, so the new constraint can be added (the migration calls this function)."""
    rows = [(1, 7, "Owls"), (2, 7, "OWLS"), (3, 7, "Herons"), (4, 8, "owls"), (5, 7, "O\u200bwls")]
    keys = unique_name_keys(teams=rows)
    assert keys == {1: "owls", 2: "owls#2", 3: "herons", 4: "owls", 5: "owls#5"}
    glyph = unique_name_keys(teams=[(1, 7, "AliceTeam"), (2, 7, "AIiceTeam")], key=name_glyph_key)
    assert glyph == {1: "alicetearn", 2: "alicetearn#2"}
    for name in (
        "0005_team_name_key",
        "0008_team_name_skeleton_keys",
        "0011_team_name_keys_without_marks",
        "0018_team_name_glyph_keys",
    ):
        migration = importlib.import_module(f"challenges.migrations.{name}")
        assert migration.unique_name_keys is unique_name_keys


def test_key_function_table():
    # The skeleton of "m" is "rn"; spaces are left out.
    assert team_name_key(name="  Team\u200b  Ａlpha\ufe0f ") == "tearnalpha"
    assert team_name_key(name="T\u0435am Alpha") == team_name_key(name="TeamAlpha") == "tearnalpha"


@pytest.mark.parametrize(
    "name", ["Owls\u2800", "O\u3164wls", "\u115fOwls", "Owls\uffa0", "Ow\u200bls", "Owls\u202e"]
)
def test_a_new_name_with_a_character_that_shows_as_nothing_is_refused(name):
    challenge = ChallengeFactory()
    with pytest.raises(TeamError) as caught:
        team_create(challenge=challenge, user=UserFactory(), name=name)
    assert caught.value.code == "name_invalid" and "U+" in caught.value.message
    assert not Team.objects.filter(challenge=challenge).exists()


def test_the_api_names_the_invisible_character():
    ChallengeFactory(slug="blank")
    client = APIClient()
    client.force_authenticate(UserFactory())
    answer = client.post("/api/v1/challenges/blank/teams/", {"name": "Owls\u2800"}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "name_invalid"
    assert "U+2800 BRAILLE PATTERN BLANK" in answer.json()["detail"]


def test_the_web_form_refuses_a_look_alike_naming_it(client):
    challenge = ChallengeFactory(slug="webnames")
    team_create(challenge=challenge, user=UserFactory(), name="AliceTeam")
    client.force_login(UserFactory())
    page = client.post("/c/webnames/teams/new/", {"name": "AIice Team"}, follow=True)
    assert "reads the same as team “AliceTeam”" in page.content.decode()
    assert Team.objects.filter(challenge=challenge).count() == 1


def test_the_console_refuses_a_look_alike_team_name(client):
    challenge = ChallengeFactory(slug="consolenames")
    team_create(challenge=challenge, user=UserFactory(), name="AliceTeam")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.post(
        "/admin/challenges/team/add/",
        {
            "challenge": challenge.pk,
            "name": "\u0430liceTeam",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert page.status_code == 200 and "reads the same as team “AliceTeam”" in page.content.decode()
    assert Team.objects.filter(challenge=challenge).count() == 1
    # Organizers may still name the baseline team with a reserved word.
    client.post(
        "/admin/challenges/team/add/",
        {
            "challenge": challenge.pk,
            "name": "AutoGluon baseline",
            "is_baseline": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert Team.objects.filter(challenge=challenge, is_baseline=True).exists()


@pytest.mark.django_db(transaction=True)
def test_the_skeleton_migration_rekeys_teams_without_renaming():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = ("challenges", "0007_api_tokens_hashed")
    after = ("challenges", "0008_team_name_skeleton_keys")
    challenge = ChallengeFactory()
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    OldTeam = executor.loader.project_state([before]).apps.get_model("challenges", "Team")
    # Keys as the rule before issue 25 made them: these three were different names then.
    first = OldTeam.objects.create(
        challenge_id=challenge.pk, name="AliceTeam", name_key="aliceteam"
    )
    spaced = OldTeam.objects.create(
        challenge_id=challenge.pk, name="Alice Team", name_key="alice team"
    )
    other = OldTeam.objects.create(challenge_id=challenge.pk, name="Herons", name_key="herons")
    executor.loader.build_graph()
    executor.migrate([after])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    rows = dict(Team.objects.filter(challenge=challenge).values_list("pk", "name_key"))
    assert rows == {
        first.pk: team_name_key(name="AliceTeam"),
        spaced.pk: f"{team_name_key(name='AliceTeam')}#{spaced.pk}",
        other.pk: "herons",
    }
    assert set(Team.objects.filter(challenge=challenge).values_list("name", flat=True)) == {
        "AliceTeam",
        "Alice Team",
        "Herons",
    }


def test_look_alike_groups_join_names_sharing_either_key():
    from challenges.team_names import lookalike_groups

    rows = [(1, "AliceTeam"), (2, "ALICETEAM"), (3, "Bob"), (4, "AIiceTeam"), (5, "Zed\u2800")]
    assert lookalike_groups(names=rows) == [
        [(1, "AliceTeam"), (2, "ALICETEAM"), (4, "AIiceTeam")],  # each shares a key with AliceTeam
        [(5, "Zed\u2800")],  # alone, but with a character that shows as nothing
    ]


# Issue 66: accepted beside AliceTeam in round 6's probes (ALICETEAM was refused).
ROUND_6 = [
    "\u0391L\u0399\u0421\u0395\u03a4\u0395\u0391\u039c",  # Greek capitals and a Cyrillic С
    "\u0410L\u0406\u0421\u0415\u0422\u0415\u0410\u041c",  # Cyrillic capitals
    "Ali\u03f2eTeam",  # U+03F2 GREEK LUNATE SIGMA SYMBOL
    "Alice\u0442eam",  # Cyrillic т
    "Alice\tTeam",  # a tab
    "Alice\u00a0Te\u00a0am",  # no-break spaces (not a plain one)
]


@pytest.mark.parametrize("attempt", ROUND_6)
def test_round_6_look_alikes_are_refused_beside_alice_team_and_nothing_is_created(attempt):
    challenge = ChallengeFactory(slug="round6")
    team_create(challenge=challenge, user=UserFactory(), name="AliceTeam")
    client = APIClient()
    client.force_authenticate(UserFactory())
    answer = client.post("/api/v1/challenges/round6/teams/", {"name": attempt}, format="json")
    assert answer.status_code in (400, 409), answer.content
    assert answer.json()["code"] in ("name_invalid", "name_taken")
    assert list(Team.objects.filter(challenge=challenge).values_list("name", flat=True)) == [
        "AliceTeam"
    ]


@pytest.mark.parametrize("attempt", ROUND_6)
def test_round_6_names_are_refused_in_an_empty_challenge_too(attempt):
    """Not only as look-alikes: a name mixing scripts, or with a control or separator
    character, is refused on its own, naming why."""
    with pytest.raises(TeamError) as caught:
        team_create(challenge=ChallengeFactory(), user=UserFactory(), name=attempt)
    assert caught.value.code == "name_invalid"
    assert "mix" in caught.value.message or "U+00" in caught.value.message


@pytest.mark.parametrize("name", ["Κουκουβάγια", "Сова", "データ班", "Team 東京", "Ærø", "Team 42"])
def test_one_script_or_latin_with_han_and_kana_is_accepted(name):
    assert team_create(challenge=ChallengeFactory(), user=UserFactory(), name=name).name == name


def test_an_existing_mixed_script_name_keeps_working_and_is_listed_for_organizers():
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from challenges.services import team_name_check

    challenge = ChallengeFactory(slug="older")
    older = TeamFactory(challenge=challenge, name="Alice\u0442eam")  # from before the rule
    # Its own name, unchanged, still passes the check (a console save, a rename to itself).
    kept = team_name_check(challenge=challenge, name=older.name, exclude_pk=older.pk)
    assert kept == older.name
    with pytest.raises(TeamError):  # ... but no other team may take a name like it
        team_name_check(challenge=challenge, name="Bob\u0442eam")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_lookalike_names", "--challenge", "older", stdout=out)
    assert f"#{older.pk} 'Alice\u0442eam' would be refused now: mixes Latin and Cyrillic" in (
        out.getvalue()
    )
