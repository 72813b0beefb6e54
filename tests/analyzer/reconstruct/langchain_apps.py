"""The scripted apps over LangChain (``langchain-core`` + ``langchain-openai``), for LangChain peers."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough, chain
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from peer_apps import DOCUMENTS, MODEL, multiply, summarize_calls

SYSTEM = "You are a terse assistant."


class KnowledgeBase(BaseRetriever):
    """Returns the fixed documents, in rank order."""

    def _get_relevant_documents(self, query: str, *, run_manager: Any = None) -> list[Document]:
        return [Document(page_content=text, metadata={"id": f"d{i}"}) for i, text in enumerate(DOCUMENTS)]


@tool("multiply")
def multiply_tool(a: int, b: int) -> str:
    """Multiply two integers."""
    return multiply(a, b)


def run_langchain_app(app: str, question: str, fake: Any, hooks: Any, http: Any) -> dict[str, Any]:
    llm = ChatOpenAI(model=MODEL, api_key="sk-test-not-a-real-key", base_url="http://fake-openai.test/v1",
                     http_client=http.Client(transport=http.MockTransport(fake)))
    first_call = len(fake.calls)
    result: dict[str, Any] = {"question": question, "documents": [], "tool_calls": [], "system_prompt": SYSTEM}
    if app == "chat":
        prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("user", "{question}")])
        result["answer"] = (prompt | llm | StrOutputParser()).invoke({"question": question})
    elif app == "stream":
        prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("user", "{question}")])
        streaming = llm.model_copy(update={"stream_usage": True})
        result["answer"] = "".join((prompt | streaming | StrOutputParser()).stream({"question": question}))
    elif app == "agent":
        from langchain.agents import create_agent  # noqa: PLC0415 - only this app needs langchain's agents

        agent = create_agent(llm, [multiply_tool], system_prompt=SYSTEM, name="calculator")
        state = agent.invoke({"messages": [HumanMessage(question)]})
        for message in state["messages"]:
            for call in getattr(message, "tool_calls", None) or []:
                output = next(m.content for m in state["messages"] if getattr(m, "tool_call_id", None) == call["id"])
                result["tool_calls"].append({"id": call["id"], "name": call["name"], "arguments": call["args"],
                                             "output": output})
        result["answer"] = state["messages"][-1].content
    elif app == "rag":
        prompt = ChatPromptTemplate.from_messages([("system", SYSTEM + "\nContext:\n{context}"), ("user", "{question}")])
        join = (lambda docs: "\n".join(dict.fromkeys(d.page_content for d in docs)))
        rag = {"context": KnowledgeBase() | join, "question": RunnablePassthrough()} | prompt | llm | StrOutputParser()
        result["answer"] = rag.invoke(question)
        result["documents"] = list(DOCUMENTS)
        result["context_variable"] = "\n".join(dict.fromkeys(DOCUMENTS))  # what the template was given
        result["system_prompt"] = SYSTEM + "\nContext:\n" + "\n".join(dict.fromkeys(DOCUMENTS))
    elif app == "tools":
        @chain
        def tool_agent(user_question: str) -> str:
            bound = llm.bind_tools([multiply_tool])
            messages: list[Any] = [SystemMessage(SYSTEM), HumanMessage(user_question)]
            reply = bound.invoke(messages)
            messages.append(reply)
            for call in reply.tool_calls:
                tool_message = multiply_tool.invoke(call)
                result["tool_calls"].append({"id": call["id"], "name": call["name"], "arguments": call["args"],
                                             "output": tool_message.content})
                messages.append(tool_message)
            return bound.invoke(messages).content

        result["answer"] = tool_agent.invoke(question)
    else:
        raise ValueError(app)
    return {**result, **summarize_calls(fake.calls[first_call:])}
