"""eCeLLM: e-commerce LLMs trained and evaluated on ECInstruct."""

__version__ = "0.1.0"
