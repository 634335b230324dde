"""LangChain's standard test suites (`langchain-tests`) against the embedded chat model.

The unit suite needs no model. The integration suite runs the real model (`real`); the tests
in `slow_tests` are marked `slow` by tests/conftest.py (a standard test cannot be overridden
just to add a mark), so CI runs a representative subset: plain and async calls, streaming,
stop sequences, usage, tool calls, tool choice, structured output.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from distill.llm.local import ChatLocalLlama


class TestChatLocalLlamaUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatLocalLlama]:
        return ChatLocalLlama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model_path": "/models/never-loaded.gguf"}  # the unit suite runs no model


@pytest.mark.real
class TestChatLocalLlamaIntegration(ChatModelIntegrationTests):
    slow_tests = frozenset(
        {
            "test_stream[model1]",  # output_version="v1" variants: the v0 one runs in CI
            "test_astream[model1]",
            "test_tool_calling[model1]",
            "test_agent_loop[model1]",
            "test_astream_events_v3",
            "test_batch",
            "test_double_messages_conversation",
            "test_usage_metadata",
            "test_tool_message_histories_list_content",
            "test_tool_message_error_status",
            "test_structured_few_shot_examples",
            "test_tool_calling_with_no_arguments",
            "test_bind_runnables_as_tools",
            "test_unicode_tool_call_integration",
            "test_structured_output[typeddict]",
            "test_structured_output_async[pydantic]",
            "test_structured_output_async[json_schema]",
            "test_structured_output_pydantic_2_v1",
            "test_structured_output_optional_param",
            "test_json_mode",
            "test_message_with_name",
        }
    )

    @property
    def chat_model_class(self) -> type[ChatLocalLlama]:
        return ChatLocalLlama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        from distill.llm.models import model_file

        return {"model_path": str(model_file(None)), "max_tokens": 64}

    @property
    def supports_json_mode(self) -> bool:
        return True  # json_mode is decoded under the schema like json_schema

    @property
    def supports_model_override(self) -> bool:
        return False  # one model per process; choose it with llm.model

    # a text-only model: no images, audio, video or PDFs, in messages or tool results
    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_audio_inputs(self) -> bool:
        return False

    @property
    def supports_video_inputs(self) -> bool:
        return False

    @property
    def supports_pdf_inputs(self) -> bool:
        return False

    @property
    def supports_image_tool_message(self) -> bool:
        return False

    @property
    def supports_pdf_tool_message(self) -> bool:
        return False
