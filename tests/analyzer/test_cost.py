"""Cost (docs/cost.md): each LLM call priced from its recorded usage with genai-prices' table, at read time;
items, runs, insights and ``valiqor traces show`` carry it; what the table cannot price is unknown, never 0."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

import valiqor_trace
from valiqor_trace import ValiqorClient
from valiqor_trace.analyzer.models import TraceFacts
from valiqor_trace.analyzer.reconstruct import llm_span_costs, reconstruct_item
from valiqor_trace.analyzer.runs import Cost
from valiqor_trace.cli import main
from valiqor_trace.internal import CallUsage, Pricing, default_pricing, set_default_pricing
from valiqor_trace.store import SpanRecord
from valiqor_trace.testing.model_server import ModelServer, Reply


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """One line per span and per row: these tests read values off a line (80 columns would wrap them)."""
    monkeypatch.setenv("COLUMNS", "200")

CALL_START = 1_750_000_000 * 10**9  # the call's date picks the price in force then


@pytest.fixture
def genai_prices():  # noqa: ANN201
    return pytest.importorskip("genai_prices", reason="the cost extra (genai-prices) is not installed here")


@pytest.fixture
def no_price_table() -> Iterator[None]:
    """genai-prices absent, through our seam (the library itself is left alone)."""
    previous = set_default_pricing(Pricing(None, available=False))
    yield
    set_default_pricing(previous)


def _table_price(genai_prices, model: str, provider: str | None, input_tokens: int, output_tokens: int,  # noqa: ANN001
                 cache_read_tokens: int | None = None, start_ns: int = CALL_START) -> float:
    """What genai-prices' own public API charges for the call."""
    usage = genai_prices.Usage(input_tokens=input_tokens, output_tokens=output_tokens,
                               cache_read_tokens=cache_read_tokens)
    when = dt.datetime.fromtimestamp(start_ns / 1e9, dt.timezone.utc)
    return float(genai_prices.calc_price(usage, model, provider_id=provider, genai_request_timestamp=when).total_price)


def _llm_span(span_id: str, *, model: str | None = "gpt-4o-mini", provider: str | None = "openai",
              input_tokens: int | None = 1200, output_tokens: int | None = 300, cached: int | None = None,
              parent: str | None = None) -> SpanRecord:
    attributes: dict[str, object] = {"gen_ai.operation.name": "chat",
                                     "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]',
                                     "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"Hello"}]}]'}
    for key, value in (("gen_ai.request.model", model), ("gen_ai.provider.name", provider),
                       ("gen_ai.usage.input_tokens", input_tokens), ("gen_ai.usage.output_tokens", output_tokens),
                       ("gen_ai.usage.cache_read.input_tokens", cached)):
        if value is not None:
            attributes[key] = value
    return SpanRecord(trace_id="ab" * 16, span_id=span_id, parent_span_id=parent, name=f"chat {model}",
                      kind="CLIENT", start_time_unix_nano=CALL_START, end_time_unix_nano=CALL_START + 10**9,
                      status_code="UNSET", attributes=attributes)


def test_a_known_model_costs_what_the_price_table_says(genai_prices) -> None:  # noqa: ANN001
    cost = default_pricing().cost_usd(CallUsage(model="gpt-4o-mini", provider="openai", input_tokens=1200,
                                                output_tokens=300, started_unix_nano=CALL_START))
    assert cost == pytest.approx(_table_price(genai_prices, "gpt-4o-mini", "openai", 1200, 300)) and cost > 0


def test_cached_input_tokens_are_priced_as_cached(genai_prices) -> None:  # noqa: ANN001
    pricing = default_pricing()
    full = pricing.cost_usd(CallUsage("gpt-4o-mini", "openai", 1200, 300, started_unix_nano=CALL_START))
    cached = pricing.cost_usd(CallUsage("gpt-4o-mini", "openai", 1200, 300, cache_read_tokens=1000,
                                        started_unix_nano=CALL_START))
    assert cached == pytest.approx(_table_price(genai_prices, "gpt-4o-mini", "openai", 1200, 300, 1000))
    assert cached is not None and full is not None and cached < full


def test_a_conventions_provider_name_is_the_tables_provider(genai_prices) -> None:  # noqa: ANN001
    cost = default_pricing().cost_usd(CallUsage("gpt-4o", "azure.ai.openai", 1000, 100, started_unix_nano=CALL_START))
    assert cost == pytest.approx(_table_price(genai_prices, "gpt-4o", "azure", 1000, 100))


@pytest.mark.parametrize("usage", [
    CallUsage("my-finetuned-llama-3", "openai", 1000, 100),  # a model the table does not know
    CallUsage("gpt-4o-mini", "my-own-gateway", 1000, 100),  # a provider it does not know: no nearby price
    CallUsage(None, "openai", 1000, 100),  # no model recorded
    CallUsage("gpt-4o-mini", "openai", 1000, None),  # no output count: a price of half the call is no price
])
def test_what_the_table_cannot_price_is_unknown(genai_prices, usage: CallUsage) -> None:  # noqa: ANN001
    assert default_pricing().cost_usd(usage) is None


def test_without_the_price_table_every_cost_is_unknown(no_price_table: None) -> None:
    item = reconstruct_item([_llm_span("1" * 16)])
    assert item.metadata[TraceFacts.COST] == {"usd": None, "llm_calls": 1, "unpriced_calls": 1}
    assert item.metadata[TraceFacts.LLM_CALLS][0]["cost_usd"] is None


def test_an_item_costs_the_sum_of_its_calls_and_counts_the_unpriced(genai_prices) -> None:  # noqa: ANN001
    spans = [_llm_span("1" * 16), _llm_span("2" * 16, model="gpt-4o", input_tokens=500, output_tokens=50),
             _llm_span("3" * 16, model="my-local-model")]
    item = reconstruct_item(spans)
    expected = (_table_price(genai_prices, "gpt-4o-mini", "openai", 1200, 300)
                + _table_price(genai_prices, "gpt-4o", "openai", 500, 50))
    fact = item.metadata[TraceFacts.COST]
    assert fact["usd"] == pytest.approx(expected)
    assert (fact["llm_calls"], fact["unpriced_calls"]) == (3, 1)
    assert [call["cost_usd"] is None for call in item.metadata[TraceFacts.LLM_CALLS]] == [False, False, True]
    assert Cost.model_validate(fact).describe().startswith("≥ $")  # a lower bound, and it says so


def test_a_client_call_inside_a_framework_model_span_is_paid_once(genai_prices) -> None:  # noqa: ANN001
    outer = _llm_span("1" * 16)
    inner = _llm_span("2" * 16, parent=outer.span_id)
    item = reconstruct_item([outer, inner])
    assert item.metadata[TraceFacts.COST]["usd"] == pytest.approx(
        _table_price(genai_prices, "gpt-4o-mini", "openai", 1200, 300))
    assert set(llm_span_costs([outer, inner])) == {outer.span_id, inner.span_id}  # each span shows its own


def _traced_call(home: Path) -> tuple[str, valiqor_trace.ValiqorHandle]:
    handle = valiqor_trace.init(project_name="costs", home=str(home), instrument=["openai"])
    with ModelServer([Reply("Paris is the capital of France.")]) as server:
        server.client().chat.completions.create(model="gpt-4o-mini",
                                                messages=[{"role": "user", "content": "Capital of France?"}])
    handle.force_flush()
    trace_id = handle.store.list_traces(limit=1)[0].trace_id
    return trace_id, handle


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[str, str]]:
    pytest.importorskip("openai")
    trace_id, handle = _traced_call(tmp_path)
    yield trace_id, handle.store_path
    handle.shutdown()


def test_runs_and_insights_carry_the_cost_of_the_traced_calls(genai_prices, traced, tmp_path: Path) -> None:  # noqa: ANN001
    trace_id, store_path = traced
    client = ValiqorClient(project_name="costs", home=str(tmp_path), store_path=store_path)
    try:
        item = client.traces.reconstruct(trace_id)
        call_cost = item.metadata[TraceFacts.COST]["usd"]
        assert call_cost is not None and call_cost > 0
        result = client.failure_analysis.run(trace_id=trace_id)
        assert result.inputs[0].cost == Cost(usd=call_cost, llm_calls=1, unpriced_calls=0)
        assert result.cost == Cost(usd=call_cost, llm_calls=1, unpriced_calls=0)
        assert client.failure_analysis.get_result(result.run_id).cost == result.cost  # stored with the run
        assert "cost of the traced calls: $0.0" in valiqor_trace.format_result(result)
        dataset_run = client.failure_analysis.run(dataset=[{"input": "Hi", "output": "Hello"}])
        assert dataset_run.cost == Cost() and dataset_run.inputs[0].cost is None  # no calls: no cost, not $0
        insights = client.failure_analysis.get_insights(project_name="costs")
        assert insights["cost"] == {"usd": pytest.approx(call_cost), "llm_calls": 1, "unpriced_calls": 0}
    finally:
        client.close()


def test_traces_show_prints_each_calls_cost_and_the_total(genai_prices, traced, capsys) -> None:  # noqa: ANN001
    trace_id, store_path = traced
    assert main(["traces", "show", trace_id, "--store", store_path]) == 0
    out = capsys.readouterr().out
    chat_line = next(line for line in out.splitlines() if line.startswith("chat gpt-4o-mini"))
    assert "$0.0" in chat_line
    assert "cost: $0.0" in out and "(1 LLM call)" in out


def test_traces_show_says_unknown_and_how_to_price_without_the_table(traced, no_price_table: None,
                                                                     capsys) -> None:  # noqa: ANN001
    trace_id, store_path = traced
    assert main(["traces", "show", trace_id, "--store", store_path]) == 0
    out = capsys.readouterr().out
    assert "cost unknown" in out and "$" not in out
    assert "cost: unknown (1 LLM call, 1 unpriced)" in out and "valiqor-trace[cost]" in out
