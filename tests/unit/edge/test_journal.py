"""The edge agent's journal: durable, deduplicated by client event id, states never go back."""

import os
import signal
import subprocess
import sys
import textwrap

from edge_agent.journal import Journal


def test_record_then_answer(tmp_path):
    j = Journal(tmp_path / "j.db")
    a = j.record("exit", {"pass_no": "CM1"})
    b = j.record("exit", {"pass_no": "CM2"})
    assert [e.client_event_id for e in j.pending()] == [a, b]
    j.note_failure(a, "connection refused")
    assert j.get(a).attempts == 1 and j.get(a).state == "pending" and j.get(a).last_error == "connection refused"
    j.mark_sent(a, {"status": "exited"})
    j.mark_refused(b, {"code": "gate_pass.voided"}, "通行证已作废")
    assert j.pending() == []
    assert j.counts() == {"pending": 0, "sent": 1, "refused": 1}
    assert j.get(a).answer == {"status": "exited"}
    # an answered event is never reopened or re-answered
    j.note_failure(a, "late")
    j.mark_refused(a, {}, "late")
    assert j.get(a).state == "sent" and j.get(a).last_error is None


def test_same_client_event_id_is_one_event(tmp_path):
    j = Journal(tmp_path / "j.db")
    j.record("exit", {"pass_no": "CM1"}, client_event_id="e-1")
    j.record("exit", {"pass_no": "CM1"}, client_event_id="e-1")
    assert len(j.pending()) == 1


def test_survives_sigkill(tmp_path):
    """Events whose record() returned are on disk even if the process dies at once."""
    path = tmp_path / "j.db"
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.getcwd()!r})
        from edge_agent.journal import Journal
        j = Journal({str(path)!r})
        for i in range(50):
            j.record("exit", {{"pass_no": f"CM{{i}}"}}, client_event_id=f"e-{{i}}")
        print("recorded", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and "recorded" in proc.stdout
    j = Journal(path)
    assert [e.client_event_id for e in j.pending(limit=100)] == [f"e-{i}" for i in range(50)]
