"""The LangChain examples run as a user would run them (no key: the scripted local model answers)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import REPO_ROOT, run_python


def _run_example(name: str, tmp_path: Path) -> str:
    script = REPO_ROOT / "examples" / name
    code = f"import sys; sys.argv = [{str(script)!r}, '--home', {str(tmp_path)!r}]; " \
           f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    return run_python(code, cwd=tmp_path, env={"OPENAI_API_KEY": ""})


def test_rag_example(tmp_path: Path) -> None:
    output = _run_example("langchain_rag.py", tmp_path)
    assert "answer:   Refunds arrive within 14 days" in output
    assert "retrieval PolicyRetriever" in output and "chat gpt-4o-mini  [llm]" in output
    assert "[refunds, score 4.0] Refunds are issued within 14 days" in output
    assert "[refund-exceptions, score 3.0] Gift cards" in output


def test_agent_example(tmp_path: Path) -> None:
    output = _run_example("langchain_agent.py", tmp_path)
    assert "execute_tool get_order(" in output and '"status": "delivered"' in output
    assert "execute_tool request_refund  [tool]" in output and "ERROR PermissionError" in output
    assert "answer:   Order A-1001 (a final-sale jacket) was delivered." in output

