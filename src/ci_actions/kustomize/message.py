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


class TemplateError(ValueError):
    pass


def compile_template(source: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(default_for_string=False),
        keep_trailing_newline=False,
    )
    try:
        return env.from_string(source)
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
    import jinja2

    try:
        text = str(
            template.render(
                images=image_rows(plan), environment=environment, files=list(changed), **extra
            )
        )
    except jinja2.TemplateError as exc:
        raise TemplateError(str(exc)) from None
    text = text.strip()
    if not text:
        raise TemplateError("renders to an empty message")
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
