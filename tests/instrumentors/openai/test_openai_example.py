"""examples/openai_quickstart.py runs without a key, against the scripted model server, and its trace is stored."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import REPO_ROOT, run_python
from valiqor_trace.store import SpanStore


def test_quickstart_prints_a_trace_id_whose_spans_are_in_the_local_store(tmp_path: Path) -> None:
    output = run_python(f"import runpy; runpy.run_path({str(REPO_ROOT / 'examples' / 'openai_quickstart.py')!r}, "
                        "run_name='__main__')", cwd=tmp_path, env={"OPENAI_API_KEY": ""})

    assert "chat:      Paris is the capital of France." in output
    assert "tool:      It is 18°C and sunny in Paris right now." in output
    trace_id = re.search(r"trace id: ([0-9a-f]{32})", output).group(1)
    spans = SpanStore(tmp_path / ".valiqor" / "traces.db").get_trace(trace_id)
    chats = [span for span in spans if span.name == "chat gpt-4o-mini"]
    assert len(chats) == 4 and len(spans) == 5  # chat, streamed chat, tool call, answer; under the workflow
    streamed = next(span for span in chats if span.attributes.get("gen_ai.request.stream"))
    assert streamed.attributes["valiqor.stream.end_reason"] == "exhausted"
    assert "300,000 km" in streamed.attributes["gen_ai.output.messages"]
    tool_call = next(span for span in chats if "tool_calls" in span.attributes["gen_ai.response.finish_reasons"])
    assert json.loads(tool_call.attributes["gen_ai.output.messages"])[0]["parts"][0]["name"] == "get_weather"
