"""Recipes: a YAML file that lists the steps of a run with their typed parameters.

Every mistake in a recipe is reported at once, each with its place in the file (``recipe.yaml:12:7``),
its path (``steps[2].max_bytes``), what is wrong and what is allowed, before any work starts.
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codemill.data.sources import ReadOptions
from codemill.pipeline.step import FinalStep, Params, Step, step_class

ModelT = TypeVar("ModelT", bound=BaseModel)


class ShardOptions(BaseModel):
    """How input is cut into shards (the unit of parallelism and of resuming) and batches (of memory)."""

    model_config = ConfigDict(extra="forbid")

    target_bytes: int = Field(32_000_000, gt=0, description="input bytes per shard")
    max_units: int = Field(20_000, gt=0, description="input files per shard at most")
    batch_size: int = Field(512, gt=0, description="documents held in memory at once per worker")


class StepSpec(BaseModel):
    """One entry of ``steps``: the step's name and its validated parameters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    step: str
    params: Params

    def build(self) -> Step:
        return step_class(self.step)(self.params)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, **self.params.model_dump(mode="json")}


class Recipe(BaseModel):
    """A whole recipe, validated."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = "recipe"
    description: str = ""
    read: ReadOptions = Field(default_factory=ReadOptions)
    shards: ShardOptions = Field(default_factory=ShardOptions)
    steps: list[StepSpec] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "read": self.read.model_dump(mode="json"),
            "shards": self.shards.model_dump(mode="json"),
            "steps": [s.to_json() for s in self.steps],
        }

    def fingerprint(self) -> str:
        """A hash of everything that changes the output (not the name or description)."""
        data = self.to_json()
        data.pop("name"), data.pop("description")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class RecipeError(ValueError):
    """A recipe that cannot be used; the message lists every problem with its place in the file."""


def default_recipe_path() -> Path:
    """The recipe shipped with codemill (``configs/default.yaml``)."""
    return Path(str(files("codemill") / "configs" / "default.yaml"))


def load_recipe(path: Path) -> Recipe:
    """Read and validate a recipe file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from exc
    return parse_recipe(data if data is not None else {}, source=str(path), node=node)


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Read a YAML file into a pydantic model; every problem is reported with its file:line:column and path."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except OSError as exc:
        raise RecipeError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = [
            f"{_where(str(path), node, e['loc'])}{_dotted(e['loc'])}: {_explain(e, model)}" for e in exc.errors()
        ]
        raise RecipeError(f"invalid {path.name}:\n  " + "\n  ".join(problems)) from None


def parse_recipe(data: Any, source: str = "<recipe>", node: yaml.Node | None = None) -> Recipe:
    """Validate recipe data (as loaded from YAML or JSON); ``node`` gives line numbers for messages."""
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: a recipe is a mapping with 'steps' (and optionally 'read', 'shards')")
    problems: list[str] = []

    def report(loc: tuple[Any, ...], message: str) -> None:
        problems.append(f"{_where(source, node, loc)}{_dotted(loc)}: {message}")

    raw_steps = data.get("steps", [])
    specs: list[StepSpec] = []
    if not isinstance(raw_steps, list):
        report(("steps",), "must be a list of steps, each a mapping with a 'step:' key")
        raw_steps = []
    finals: dict[str, int] = {}  # final steps (mix, pack) by folder: where each one is
    for i, raw in enumerate(raw_steps):
        if not isinstance(raw, dict) or not isinstance(raw.get("step"), str):
            report(("steps", i), "each step is a mapping with a 'step:' key naming it")
            continue
        try:
            cls = step_class(raw["step"])
        except KeyError as exc:
            report(("steps", i, "step"), str(exc.args[0]))
            continue
        params = {k: v for k, v in raw.items() if k != "step"}
        if problem := _order_problem(cls, params, i, finals):
            report(("steps", i, "step"), problem)
        try:
            specs.append(StepSpec(step=raw["step"], params=cls.Params.model_validate(params)))
        except ValidationError as exc:
            for err in exc.errors():
                report(("steps", i, *err["loc"]), _explain(err, cls.Params))
    top = {k: v for k, v in data.items() if k != "steps"}
    try:
        recipe = Recipe.model_validate(top)
    except ValidationError as exc:
        for err in exc.errors():
            model = {"read": ReadOptions, "shards": ShardOptions}.get(str(err["loc"][0]), Recipe)
            report(err["loc"], _explain(err, model))
        recipe = None
    if problems:
        raise RecipeError("invalid recipe:\n  " + "\n  ".join(problems))
    assert recipe is not None
    recipe.steps = specs
    return recipe


def _order_problem(cls: type[Step], params: dict[str, Any], i: int, finals: dict[str, int]) -> str | None:
    """Why step ``i`` cannot stand where it is: final steps close a recipe and each writes its own folder."""
    if issubclass(cls, FinalStep):
        folder = cls.folder_for(params)
        if folder in finals:
            where = f"{folder}/, steps[{finals[folder]}]"
            return f"a second {cls.name!r} step writing {where}: final steps write one folder each"
        finals[folder] = i
        return None
    if finals:
        first = min(finals.values())
        return (
            f"{cls.name!r} comes after the final step at steps[{first}]: final steps (mix, pack) run once on the "
            "finished corpus, so they close a recipe, after every document step"
        )
    return None


def _explain(err: dict[str, Any], model: type[BaseModel]) -> str:
    """pydantic's message, plus what is allowed when the key itself is wrong."""
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        model = _nested_model(model, err["loc"][:-1])
        allowed = ", ".join(model.model_fields) or "no parameters"
        return f"unknown key; allowed: {allowed}"
    if "input" in err and not isinstance(err["input"], dict | list):
        msg += f" (got {err['input']!r})"
    return msg


def _nested_model(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model that holds the field at ``loc`` (a nested one, such as ``pack``'s ``fim``), for the allowed keys."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return model


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _where(source: str, node: yaml.Node | None, loc: tuple[Any, ...]) -> str:
    """``file:line:column: `` of the deepest YAML node on the path ``loc``."""
    found = node
    for depth, part in enumerate(loc):
        nxt = None
        if isinstance(found, yaml.MappingNode):
            for key, value in found.value:
                if key.value == str(part):
                    nxt = key if depth == len(loc) - 1 else value
                    break
        elif isinstance(found, yaml.SequenceNode) and isinstance(part, int) and part < len(found.value):
            nxt = found.value[part]
        if nxt is None:
            break
        found = nxt
    if found is None:
        return f"{source}: "
    return f"{source}:{found.start_mark.line + 1}:{found.start_mark.column + 1}: "
