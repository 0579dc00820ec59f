"""The commit message (a Jinja2 template) and the names a bump goes by."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Any

from ci_actions.kustomize.bump import Plan
from ci_actions.kustomize.setimage import split_image

DEFAULT_MESSAGE = (
    "{% if environment %}{{ environment }}: {% endif %}set "
    "{% for i in images %}{{ i.name }} to {{ i.new_tag or i.current }}"
    "{% if not loop.last %}, {% endif %}{% endfor %}\n\n"
    "{% for i in images %}{{ i.name }}: {{ i.previous or '(unset)' }} -> {{ i.current }}\n"
    "{% endfor %}"
)
_UNSAFE_REF = re.compile(r"[^A-Za-z0-9._+-]+")


# The only names a commit message template sees (besides Jinja2's filters and tests).
VARIABLES = ("images", "environment", "files", "repository", "branch")
MAX_MESSAGE = 64 * 1024  # characters: a commit message, not a payload
_MAX_SIZE = 1 << 20  # the largest string, sequence or number a template may compute


class TemplateError(ValueError):
    pass


def _sandbox() -> Any:
    """An immutable sandbox without globals: a template reads its variables and nothing else."""
    import operator

    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def _bits(value: object) -> int:
        return abs(value).bit_length() if isinstance(value, int) else 0

    def _product_size(left: object, right: object) -> int:
        """About how big `left * right` is: characters/items, or bits for two integers."""
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int):
                return len(seq) * count
        return _bits(left) + _bits(right)

    class _Sandbox(ImmutableSandboxedEnvironment):
        # `'x' * 10**9` or `9**9**9` would exhaust memory or time before any check ran.
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
            if operator_ == "**":
                if isinstance(right, int) and _bits(left) * right > _MAX_SIZE:
                    raise SecurityError("the power is too large")
                return operator.pow(left, right)
            if _product_size(left, right) > _MAX_SIZE:
                raise SecurityError("the product is too large")
            return operator.mul(left, right)

    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.globals.clear()  # no range, cycler, joiner, lipsum, namespace, dict
    return env


def compile_template(source: str) -> Any:
    """The compiled template (raises TemplateError on a syntax error)."""
    import jinja2

    try:
        return _sandbox().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None


def image_rows(plan: Plan) -> list[dict[str, str]]:
    rows = []
    for setting in plan.settings:
        previous = plan.previous.get(setting.name, "")
        current = plan.current.get(setting.name, "")
        _, old_tag, old_digest = split_image(previous)
        _, new_tag, new_digest = split_image(current)
        rows.append(
            {
                "name": setting.name,
                "argument": str(setting),
                "previous": previous,
                "current": current,
                "old_tag": old_tag,
                "new_tag": new_tag,
                "old_digest": old_digest,
                "new_digest": new_digest,
            }
        )
    return rows


def render_message(
    template: Any, plan: Plan, environment: str, changed: Sequence[str], **extra: str
) -> str:
    """The commit message; raises TemplateError for anything the template does wrong.

    A template is user code: whatever it raises (an undefined name, a sandbox
    refusal, `1/0`, a bad filter argument) is an error of the input.
    """
    values: dict[str, object] = {
        "images": image_rows(plan),
        "environment": environment,
        "files": list(changed),
        "repository": "",
        "branch": "",
    }
    values.update((k, v) for k, v in extra.items() if k in VARIABLES)
    try:
        text = str(template.render(values))
    except RecursionError:
        raise TemplateError("recurses too deeply") from None
    except Exception as exc:
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None
    text = text.strip()
    if not text:
        raise TemplateError("renders to an empty message")
    if len(text) > MAX_MESSAGE:
        raise TemplateError(f"renders to {len(text)} characters (at most {MAX_MESSAGE})")
    return text + "\n"


def environment_of(files: Sequence[str]) -> str:
    """The overlay a bump targets, from its files: the name of their common directory."""
    dirs = [posixpath.dirname(f) for f in files]
    if not dirs:
        return ""
    common = posixpath.commonpath(dirs) if all(dirs) else ""
    return posixpath.basename(common)


def bot_branch(environment: str, names: Sequence[str]) -> str:
    """`ci-actions/bump/<environment>/<image>`: one stable branch per target."""
    images = "+".join(sorted({n.rsplit("/", 1)[-1] for n in names})) or "images"
    env = _UNSAFE_REF.sub("-", environment).strip("-.") or "all"
    return f"ci-actions/bump/{env}/{_UNSAFE_REF.sub('-', images).strip('-.')}"
