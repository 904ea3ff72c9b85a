"""Progress is a callback (gradcli.progress); the CLI's one Rich bar (gradcli.cli.progress) draws it."""

from gradcli.cli.progress import bar, starts_phase
from gradcli.progress import report


def test_report_calls_the_callback_and_tolerates_none():
    heard = []
    report(lambda *a: heard.append(a), 2, 5, "x")
    report(None, 2, 5, "x")
    assert heard == [(2, 5, "x")]


def test_no_bar_when_not_enabled():
    with bar(False) as progress:
        assert progress is None


def test_the_bar_takes_reports_of_several_phases(capsys):
    with bar(True) as progress:
        for done in range(4):
            progress(done, 3, "numeric column: W1")
        progress(0, 3, "numeric column: b1")
        progress(3, 3, "numeric column: b1")
    assert capsys.readouterr().out == ""  # drawn on stderr only


def test_a_phase_starts_when_the_count_goes_back_or_the_total_changes():
    assert not starts_phase(1, 3, 2, 3)
    assert starts_phase(3, 3, 0, 3)
    assert starts_phase(1, 3, 1, 4)
    assert starts_phase(0, None, 0, 1)
