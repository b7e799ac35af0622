"""Pipeline steps: each takes records, builds LLM calls, runs them through the engine, adds fields."""
