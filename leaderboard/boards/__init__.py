"""What builds, reads and shows a board (docs/architecture.md §11).

Modules:
    read             a task's board and a track's, as pages and exports show them
    references       the reference rows and flip columns on a task's boards
    ladder           the Ladder: a task's board mode and its shown scores
    mode             an organizer's change of a task's board mode
    phases           which phase's entries a board ranks
    phase_read       a phase's board ranked at read time (``?phase=``)
    phase_params     the ``?phase=`` parameter of the pages and the API
    shown            who may see which scores of a board
    track_shown      the same for a track's board
    track_first      P(first) of a track's live board, kept with the board
    track_rank_sets  the rank sets of a track's live board, kept with the board
    shakeup_panel    the organizers' shake-up panel of a laddered task

Boards import neither the transfer matrix, the champion nor the results export (an
import-linter contract, pyproject.toml); the statistics they show come from
``leaderboard.statistics``.
"""
