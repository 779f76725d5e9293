"""``ecellm serve``: a FastAPI app with one endpoint per task, dynamic batching, and a page to try each task.

Endpoints: ``POST /v1/<task>`` (the task's fields as JSON → the typed answer), ``GET /v1/tasks`` (fields
and examples), ``GET /health``, ``GET /`` (the try-it page), ``/docs`` and ``/openapi.json``. Request models
are built from each task's declared fields, so the OpenAPI schema and the 422 errors name the same fields
the Python API and ``ecellm predict`` take.
"""

from __future__ import annotations

import contextlib
import logging
import math
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from ecellm import __version__
from ecellm.inference.batching import DynamicBatcher
from ecinstruct.errors import ECInstructError
from ecinstruct.tasks import TASKS, Task
from ecinstruct.tasks.fields import Field as TaskField
from ecinstruct.tasks.fields import FieldError

logger = logging.getLogger(__name__)


class Answer(BaseModel):
    """One answer: ``result`` is typed per task (see the endpoint's description); ``None`` when invalid."""

    task: str
    result: Any = Field(description="the typed answer; null when the model's answer could not be read")
    valid: bool = Field(description="whether the model's answer had the task's format")
    raw: str = Field(description="the model's new text")
    answer: str = Field(description="the answer read from the raw text")
    method: str = Field(description="decoding method: generate, constrained or loglik")


_RESULTS = {
    "bool": "true / false",
    "label": "the option's label",
    "item": "the chosen candidate: {index, item}",
    "ranking": "the products most relevant first: [{index, item}, ...]",
    "attributes": "[{attribute, value, source}, ...] (value/source null when not mentioned)",
    "text": "the answer text",
}


def request_model(task: Task) -> type[BaseModel]:
    """A pydantic model of the task's fields (unknown fields are rejected)."""
    fields: dict[str, Any] = {}
    for field in task.inputs.fields:
        annotation = _annotation(task, field)
        default = ... if field.required else None
        fields[field.name] = (annotation if field.required else annotation | None,
                              Field(default, description=field.help, examples=[task.inputs.example.get(field.name)]
                                    if field.name in task.inputs.example else None))
    return create_model(f"{task.code}Request", __config__=ConfigDict(extra="forbid"), **fields)


def _annotation(task: Task, field: TaskField) -> Any:
    if field.kind == "text":
        return str
    if field.kind == "texts":
        return list[str] | str  # one text is a one-item list, as in the Python API
    keys = {key: (str if i == 0 else str | None, None if i else ...) for i, key in enumerate(field.keys)}
    return create_model(f"{task.code}{field.name.title()}", __config__=ConfigDict(extra="forbid"), **keys)


def task_info(task: Task) -> dict[str, Any]:
    return {"code": task.code, "name": task.name, "description": task.description,
            "endpoint": f"/v1/{task.config_name}", "result": task.result.kind,
            "result_description": _RESULTS[task.result.kind], "example": task.inputs.example,
            "fields": [{"name": f.name, "kind": f.kind, "required": f.required, "help": f.help,
                        "keys": list(f.keys)} for f in task.inputs.fields]}


def _unprocessable(err: FieldError | ECInstructError) -> RequestValidationError:
    location = ["body", *err.field.split(".")] if isinstance(err, FieldError) else ["body"]
    message = err.problem if isinstance(err, FieldError) else str(err)
    return RequestValidationError([{"loc": location, "msg": message, "type": "value_error"}])


def create_app(predictor: Any, *, max_batch: int = 16, batch_window_ms: float = 10.0,
               max_body_kb: int = 256) -> FastAPI:
    """The app around a :class:`~ecellm.inference.predictor.Predictor` (or anything with ``prepare``/``run``)."""

    def answer_batch(items: list[tuple[Task, dict]]) -> list[Any]:
        """Prompts are built here, in the engine's thread: the tokenizer is not shared across threads."""
        prepared, results = [], []
        for task, values in items:
            try:
                prepared.append(predictor.prepare(task, values))
                results.append(None)
            except ECInstructError as err:
                results.append(_unprocessable(err))
        answers = iter(predictor.run(prepared) if prepared else [])
        return [next(answers) if result is None else result for result in results]

    batcher = DynamicBatcher(answer_batch, max_batch=max_batch, window_s=batch_window_ms / 1000)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="eCeLLM", version=__version__, lifespan=lifespan, max_body_size=max_body_kb * 1024,
                  description="E-commerce tasks answered by an eCeLLM model. One endpoint per task; "
                              "the page at / tries each task by hand.")

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", **predictor.describe(), "tasks": [t.code for t in TASKS],
                "waiting": batcher.waiting, "batching": {"max_batch": max_batch, "window_ms": batch_window_ms,
                                                         **batcher.stats.as_dict()}}

    @app.get("/v1/tasks", tags=["service"])
    async def tasks() -> list[dict[str, Any]]:
        return [task_info(t) for t in TASKS]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return resources.files("ecellm.inference").joinpath("page.html").read_text("utf-8")

    for task in TASKS:
        _add_task_endpoint(app, task, batcher)
    _add_error_answers(app)
    return app


def _add_error_answers(app: FastAPI) -> None:
    """Every error is a JSON answer with a 4xx status: a body the schema rejects (even one holding NaN or
    1e999, which JSON cannot carry back) is a 422, an unknown task path a 404 that lists the valid ones."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _finite(jsonable_encoder(exc.errors()))})

    @app.api_route("/v1/{name}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown_task(name: str) -> JSONResponse:
        valid = ", ".join(f"/v1/{t.config_name} ({t.code})" for t in TASKS)
        return JSONResponse(status_code=404, content={"detail": f"unknown task {name!r}; valid task endpoints (POST): "
                                                                f"{valid}; GET /v1/tasks describes their fields"})


def _finite(value: Any) -> Any:
    """``value`` with every NaN / infinite number written as text (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _add_task_endpoint(app: FastAPI, task: Task, batcher: DynamicBatcher) -> None:
    body_model = request_model(task)

    async def endpoint(body: body_model) -> Answer:  # type: ignore[valid-type]
        values = body.model_dump(exclude_none=True)
        try:
            task.inputs.clean(values)  # field rules beyond the schema (list bounds, empty text): 422 at once
        except FieldError as err:
            raise _unprocessable(err) from None
        prediction = await batcher.submit((task, values))
        return Answer(**prediction.to_dict())

    # Annotations are strings here (postponed evaluation); FastAPI needs the request model itself.
    endpoint.__annotations__ = {"body": body_model, "return": Answer}
    endpoint.__name__ = f"predict_{task.config_name}"
    app.post(f"/v1/{task.config_name}", response_model=Answer, tags=["tasks"], summary=f"{task.code}: {task.name}",
             description=f"{task.description}\n\nResult: {_RESULTS[task.result.kind]}.")(endpoint)
    for alias in sorted({task.code, task.code.lower(), task.code.upper()} - {task.config_name}):
        app.post(f"/v1/{alias}", response_model=Answer, include_in_schema=False)(endpoint)  # as the CLI takes them


def serve(model: Any, *, host: str = "127.0.0.1", port: int = 8000, max_batch: int = 16,
          batch_window_ms: float = 10.0, max_body_kb: int = 256, log_level: Literal["info", "warning"] = "info",
          **predictor_options: Any) -> None:
    """Load the model and serve it until interrupted."""
    import uvicorn

    from ecellm.inference.predictor import Predictor

    if max_batch < 1 or batch_window_ms < 0 or max_body_kb < 1:
        raise ECInstructError(f"--max-batch and --max-body-kb must be >= 1 and --batch-window-ms >= 0; got "
                              f"{max_batch}, {max_body_kb}, {batch_window_ms}")
    predictor = model if isinstance(model, Predictor) else Predictor(model, **predictor_options)
    app = create_app(predictor, max_batch=max_batch, batch_window_ms=batch_window_ms, max_body_kb=max_body_kb)
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("serving on %s: reachable from other machines; the API has no authentication", host)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


__all__ = ["create_app", "request_model", "serve"]
