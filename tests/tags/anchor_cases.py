"""The comparison table: events x inputs that docker/metadata-action and image-tags must agree on.

Expected outputs live in tests/golden/image-tags/anchor.json, captured from the
node action by `python -m tests.tags.capture_anchor` (see that module).
"""

from __future__ import annotations

from tests.support.anchor import Case

PR_HEAD = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"
MERGE_SHA = "e1" * 20

SEMVER_RULES = "\n".join(
    [
        "type=semver,pattern={{version}}",
        "type=semver,pattern={{major}}.{{minor}}",
        "type=semver,pattern={{major}}",
        "type=ref,event=branch",
        "type=sha",
    ]
)
PEP440_RULES = "\n".join(
    [
        "type=pep440,pattern={{version}}",
        "type=pep440,pattern={{major}}.{{minor}}",
        "type=pep440,pattern={{major}}",
        "type=pep440,pattern={{raw}}",
    ]
)
MATCH_RULES = "\n".join(
    [
        r"type=match,pattern=\d.\d.\d",
        r"type=match,pattern=v(.*),group=1",
        r"type=match,pattern=^(\w+)-(\d+),group=2",
    ]
)
TAG_NAMES = (
    "v1.1.1",
    "1.2",
    "v2.0.8-beta.67",
    "1.0dev4",
    "1.1beta2",
    "1.2.3rc2",
    "v1.2.3rc2",
    "1.2post1",
    "20200110-RC2",
    "p1-v1.0.0",
    "release1",
    "sometag",
    "v1.0.0+build.5",
    "v3.0.0-rc.1",
    "0.9.0",
    "v1",
)


def _push(id: str, ref: str = "refs/heads/main", **inputs: str) -> Case:
    return Case(id, event="push", ref=ref, inputs=inputs)


def _tag(id: str, tag: str, env: dict[str, str] | None = None, **inputs: str) -> Case:
    return Case(id, event="push_tag", ref=f"refs/tags/{tag}", inputs=inputs, env=env or {})


def cases() -> list[Case]:
    out: list[Case] = [
        # -- no event, empty event ------------------------------------------------
        Case(
            "null-default", event="", event_name="", ref="", sha="", inputs={"images": "user/app"}
        ),
        Case(
            "null-sha-branch",
            event="",
            event_name="",
            ref="",
            sha="",
            inputs={"images": "user/app", "tags": "type=sha\ntype=raw,{{branch}}"},
        ),
        # -- push to branches -----------------------------------------------------
        _push("push-main-default", images="user/app"),
        _push("push-dev-default", "refs/heads/dev", images="user/app"),
        _push("push-invalidchars", "refs/heads/feature/Fix&Bug#12", images="user/app"),
        _push(
            "push-invalidchars-expr",
            "refs/heads/feature/a<b>'c\"=d`e",
            images="user/app",
            tags="type=raw,value={{branch}}\ntype=raw,value={{{branch}}}-x\ntype=sha,prefix={{branch}}-",
        ),
        _push("push-main-sha-long", images="user/app", tags="type=sha,format=long\ntype=sha"),
        _push("push-main-edge", images="user/app", tags="type=edge\ntype=edge,branch=dev"),
        _push(
            "push-dev-edge-dev", "refs/heads/dev", images="user/app", tags="type=edge,branch=dev"
        ),
        _push(
            "push-main-latest-default-branch",
            images="user/app",
            tags="type=raw,value=latest,enable={{is_default_branch}}\ntype=ref,event=branch",
        ),
        _push(
            "push-dev-latest-default-branch",
            "refs/heads/dev",
            images="user/app",
            tags="type=raw,value=latest,enable={{is_default_branch}}\ntype=ref,event=branch\ntype=raw,value=feat,enable={{is_not_default_branch}}",
        ),
        _push(
            "push-raw-values",
            images="user/app",
            tags="type=raw,value=foo\ntype=raw,bar\nbaz\ntype=raw,value=foo,suffix=-s",
        ),
        _push(
            "push-raw-priority",
            images="user/app",
            tags="type=raw,value=low,priority=1\ntype=raw,value=high,priority=2000\ntype=sha,priority=300\ntype=ref,event=branch",
        ),
        _push(
            "push-flavor-prefix-suffix",
            images="user/app",
            tags="type=ref,event=branch\ntype=sha\ntype=raw,value=x,prefix=,suffix=",
            flavor="prefix=pre-\nsuffix=-suf",
        ),
        _push(
            "push-flavor-latest-true",
            images="user/app",
            tags="type=ref,event=branch",
            flavor="latest=true\nprefix=p-,onlatest=true\nsuffix=-s,onlatest=true",
        ),
        _push(
            "push-flavor-latest-onlatest-prefix-only",
            images="user/app",
            tags="type=sha",
            flavor="latest=true,prefix=p-,onlatest=true,suffix=-s",
        ),
        _push(
            "push-flavor-latest-false",
            "refs/heads/main",
            images="user/app",
            tags="type=ref,event=branch",
            flavor="latest=false",
        ),
        _push(
            "push-flavor-expr-prefix",
            images="user/app",
            tags="type=sha",
            flavor="prefix={{branch}}-,onlatest=false\nlatest=true",
        ),
        _push(
            "push-date-formats",
            images="user/app",
            tags="\n".join(
                [
                    "type=raw,value={{date 'YYYYMMDD'}}",
                    "type=raw,value={{date 'YYYYMMDD-HHmmss' tz='Asia/Tokyo'}}",
                    "type=raw,value={{date 'YY.M.D-H.m.s.SSS'}}",
                    "type=raw,value={{date 'dddd-MMMM-Do-DDDo-Qo-wo-Wo-gggg-GGGG'}}",
                    "type=raw,value={{date 'hh-h-A-a-kk-E-e-d-ddd-dd-MMM'}}",
                    "type=raw,value={{date 'X-x-ZZ'}}",
                    "type=raw,value={{date '[build]-YYYY-[week]-WW'}}",
                    "type=raw,value={{date 'L' tz='America/New_York'}}",
                    "type=raw,value={{date 'LT-LTS-l-ll' tz='Europe/Paris'}}",
                    "type=raw,value=tz{{date 'Z-z' tz='Asia/Kolkata'}}",
                ]
            ),
        ),
        _push(
            "push-commit-date",
            images="user/app",
            tags="type=raw,value={{commit_date 'YYYYMMDD-HHmmss'}}\ntype=raw,value={{commit_date 'YYYY-MM-DD HH:mm Z' tz='Europe/Berlin'}}",
        ),
        _push(
            "push-expressions",
            images="user/app",
            tags="type=raw,value={{branch}}-{{sha}}-{{tag}}-{{base_ref}}-{{is_default_branch}}",
        ),
        _push(
            "push-unknown-expression",
            images="user/app",
            tags="type=raw,value=a{{nothing}}b\ntype=raw,value=x\\{{branch}}",
        ),
        _push(
            "push-images-forms",
            images="name=ghcr.io/Acme/App\nname=docker.io/acme/app,enable=false\nname=quay.io/acme/app,enable=true",
            tags="type=ref,event=branch",
        ),
        _push("push-images-oneline", images="ghcr.io/acme/a,acme/B", tags="type=sha"),
        _push("push-no-images", tags="type=ref,event=branch\ntype=sha"),
        _push(
            "push-labels-override",
            images="user/app",
            labels="org.opencontainers.image.title=MyTitle\norg.opencontainers.image.vendor=ACME & Co\nmaintainer=dev <dev@example.com>\nempty=\nnoequals\nbranch.name={{branch}}\nA.upper=1\na.lower=2\ncom.x=a=b",
        ),
        _push(
            "push-annotations",
            images="user/app",
            annotations="org.opencontainers.image.title=Ann\nindex.only=1",
            labels="label=1",
        ),
        _push("push-separators", images="a/b\nc/d", tags="type=sha\ntype=ref,event=branch"),
        _push("push-bake-target", images="user/app", tags="type=sha"),
        _push(
            "push-comments",
            images="user/app",
            tags="# comment\ntype=sha\n\n# type=ref,event=branch",
        ),
        _push(
            "push-dedup",
            images="user/app",
            tags="type=raw,value=same\ntype=raw,value=same\ntype=raw,value=other\ntype=raw,value=other\ntype=raw,value=main\ntype=ref,event=branch",
        ),
        _push(
            "push-disabled-rules",
            images="user/app",
            tags="type=sha,enable=false\ntype=ref,event=branch,enable=true",
        ),
        _push(
            "push-semver-value",
            images="user/app",
            tags="type=semver,pattern={{version}},value=v4.5.6\ntype=semver,pattern={{major}},value=v4.5.6\ntype=pep440,pattern={{version}},value=4.5.6\ntype=match,pattern=(\\d+),group=1,value=build-77",
        ),
        _push(
            "push-semver-value-match",
            images="user/app",
            tags="type=semver,pattern={{version}},value=app-v1.2.3,match=app-(.*)",
        ),
        _push(
            "push-semver-on-branch",
            images="user/app",
            tags="type=semver,pattern={{version}}\ntype=pep440,pattern={{version}}\ntype=match,pattern=\\d+",
        ),
        Case(
            "push-short-sha-length",
            inputs={"images": "user/app", "tags": "type=sha\ntype=raw,value=x-{{sha}}"},
            env={"DOCKER_METADATA_SHORT_SHA_LENGTH": "12"},
        ),
        Case(
            "push-short-sha-length-long",
            inputs={"images": "user/app", "tags": "type=sha"},
            env={"DOCKER_METADATA_SHORT_SHA_LENGTH": "99"},
        ),
        Case(
            "push-no-env-export",
            inputs={"images": "user/app", "tags": "type=sha"},
            env={"DOCKER_METADATA_SET_OUTPUT_ENV": "false"},
        ),
        Case(
            "push-annotation-levels",
            inputs={"images": "user/app", "tags": "type=sha", "annotations": "x=1"},
            env={"DOCKER_METADATA_ANNOTATIONS_LEVELS": "manifest,index,manifest-descriptor"},
        ),
        # -- pull requests ----------------------------------------------------------
        Case(
            "pr-default",
            event="pull_request",
            event_name="pull_request",
            ref="refs/pull/15/merge",
            sha=MERGE_SHA,
            inputs={"images": "user/app"},
        ),
        Case(
            "pr-sha-base-ref",
            event="pull_request",
            event_name="pull_request",
            ref="refs/pull/15/merge",
            sha=MERGE_SHA,
            inputs={
                "images": "user/app",
                "tags": "type=ref,event=pr\ntype=sha\ntype=raw,value={{base_ref}}-{{branch}}-{{is_default_branch}}\ntype=ref,event=pr,prefix=pull-,suffix=-x\ntype=edge",
            },
        ),
        Case(
            "pr-head-sha",
            event="pull_request",
            event_name="pull_request",
            ref="refs/pull/15/merge",
            sha=MERGE_SHA,
            inputs={"images": "user/app", "tags": "type=ref,event=pr\ntype=sha"},
            env={"DOCKER_METADATA_PR_HEAD_SHA": "true"},
        ),
        Case(
            "pr-target",
            event="pull_request_target",
            event_name="pull_request_target",
            ref="refs/heads/main",
            sha="77" * 20,
            inputs={
                "images": "user/app",
                "tags": "type=ref,event=pr\ntype=ref,event=branch\ntype=sha",
            },
        ),
        Case(
            "pr-target-head-sha",
            event="pull_request_target",
            event_name="pull_request_target",
            ref="refs/heads/main",
            sha="77" * 20,
            inputs={"images": "user/app", "tags": "type=ref,event=pr\ntype=sha"},
            env={"DOCKER_METADATA_PR_HEAD_SHA": "True"},
        ),
        # -- schedule ---------------------------------------------------------------
        Case(
            "schedule-default",
            event="schedule",
            event_name="schedule",
            inputs={"images": "user/app"},
        ),
        Case(
            "schedule-patterns",
            event="schedule",
            event_name="schedule",
            inputs={
                "images": "user/app",
                "tags": "type=schedule,pattern={{date 'YYYYMMDD'}}\ntype=schedule,pattern=nightly-{{date 'YYYY-MM-DD HH:mm' tz='Asia/Tokyo'}}\ntype=schedule,pattern={{commit_date 'YYYYMMDD'}}\ntype=schedule,pattern=x{{branch}}\ntype=raw,value={{is_default_branch}}\ntype=sha",
            },
        ),
        Case(
            "schedule-flavor",
            event="schedule",
            event_name="schedule",
            inputs={
                "images": "user/app",
                "tags": "type=schedule\ntype=schedule,prefix=p-,suffix=-s",
                "flavor": "latest=true,prefix=f-",
            },
        ),
        # -- release, dispatch, create, issues, discussion --------------------------------
        Case(
            "release-semver",
            event="release",
            event_name="release",
            ref="refs/tags/v1.2.3",
            inputs={"images": "user/app", "tags": SEMVER_RULES},
        ),
        Case(
            "release-default",
            event="release",
            event_name="release",
            ref="refs/tags/v1.2.3",
            inputs={"images": "user/app"},
        ),
        Case(
            "dispatch-main",
            event="workflow_dispatch",
            event_name="workflow_dispatch",
            inputs={
                "images": "user/app",
                "tags": "type=ref,event=branch\ntype=raw,value=latest,enable={{is_default_branch}}\ntype=sha,prefix=,format=long",
            },
        ),
        Case(
            "dispatch-dev",
            event="workflow_dispatch",
            event_name="workflow_dispatch",
            ref="refs/heads/dev",
            inputs={
                "images": "user/app",
                "tags": "type=ref,event=branch\ntype=raw,value=latest,enable={{is_default_branch}}\ntype=edge,branch=dev",
            },
        ),
        Case(
            "create-tag",
            event="create_tag",
            event_name="create",
            ref="refs/tags/v1.2.3",
            inputs={
                "images": "user/app",
                "tags": SEMVER_RULES + "\ntype=raw,value={{is_default_branch}}",
            },
        ),
        Case(
            "create-branch",
            event="create_branch",
            event_name="create",
            ref="refs/heads/release/2024",
            inputs={
                "images": "user/app",
                "tags": "type=ref,event=branch\ntype=raw,value={{is_default_branch}}",
            },
        ),
        Case(
            "issues-opened",
            event="issues",
            event_name="issues",
            inputs={
                "images": "user/app",
                "tags": "type=raw,value=latest,enable={{is_default_branch}}\ntype=sha",
            },
        ),
        Case(
            "discussion-created",
            event="discussion",
            event_name="discussion",
            inputs={
                "images": "user/app",
                "tags": "type=raw,value={{is_default_branch}}\ntype=ref,event=branch",
            },
        ),
        # -- errors both must refuse ----------------------------------------------------------
        _push("error-unknown-type", images="user/app", tags="type=foo"),
        _push("error-semver-no-pattern", images="user/app", tags="type=semver"),
        _push("error-enable-not-bool", images="user/app", tags="type=sha,enable=yes"),
        _push("error-ref-no-event", images="user/app", tags="type=ref"),
        _push("error-ref-bad-event", images="user/app", tags="type=ref,event=commit"),
        _push("error-sha-bad-format", images="user/app", tags="type=sha,format=medium"),
        _push("error-raw-no-value", images="user/app", tags="type=raw"),
        _push("error-flavor-latest", images="user/app", tags="type=sha", flavor="latest=maybe"),
        _push("error-flavor-unknown", images="user/app", tags="type=sha", flavor="color=blue"),
        _push("error-image-enable", images="name=a,enable=yes", tags="type=sha"),
        _push("error-match-group", images="user/app", tags="type=match,pattern=x,group=abc"),
    ]
    # Separators and bake target through inputs that are not rule lists.
    out = [
        (
            Case(
                c.id,
                c.event,
                c.event_name,
                c.ref,
                c.sha,
                {**c.inputs, "sep-tags": ",", "sep-labels": ";", "sep-annotations": " | "},
                c.env,
            )
            if c.id == "push-separators"
            else Case(
                c.id,
                c.event,
                c.event_name,
                c.ref,
                c.sha,
                {**c.inputs, "bake-target": "meta"},
                c.env,
            )
            if c.id == "push-bake-target"
            else c
        )
        for c in out
    ]
    # -- every tag style against semver, pep440, match and ref rules -------------------------
    for name in TAG_NAMES:
        slug = name.replace("+", "_")
        out.append(_tag(f"tag-{slug}-semver", name, images="user/app", tags=SEMVER_RULES))
        out.append(_tag(f"tag-{slug}-pep440", name, images="user/app", tags=PEP440_RULES))
        out.append(_tag(f"tag-{slug}-match", name, images="user/app", tags=MATCH_RULES))
        out.append(
            _tag(
                f"tag-{slug}-ref",
                name,
                images="user/app",
                tags="type=ref,event=tag\ntype=raw,value={{tag}}-{{base_ref}}\ntype=semver,pattern={{raw}}",
            )
        )
    out += [
        _tag("tag-default", "v1.1.1", images="user/app"),
        _tag(
            "tag-semver-latest-false",
            "v1.1.1",
            images="user/app",
            tags=SEMVER_RULES,
            flavor="latest=false",
        ),
        _tag(
            "tag-semver-prerelease-patterns",
            "v2.0.8-beta.67",
            images="user/app",
            tags="type=semver,pattern={{major}}.{{minor}}.{{patch}}-{{prerelease}}\ntype=semver,pattern={{raw}}\ntype=semver,pattern=v{{version}}",
        ),
        _tag(
            "tag-semver-object-fields",
            "v1.0.0+build.5",
            images="user/app",
            tags="type=semver,pattern={{version}}-{{build}}\ntype=semver,pattern={{raw}}-{{loose}}",
        ),
        _tag(
            "tag-semver-match",
            "app/v1.2.3",
            images="user/app",
            tags="type=semver,pattern={{version}},match=app/v(.*)\ntype=semver,pattern={{version}},match=nomatch-(.*)",
        ),
        _tag(
            "tag-semver-slash",
            "1.2.3/x",
            images="user/app",
            tags="type=semver,pattern={{version}}\ntype=ref,event=tag",
        ),
        _tag(
            "tag-match-regex-literal",
            "v1.2.3-RC4",
            images="user/app",
            tags="type=match,pattern=/rc(\\d+)/i,group=1\ntype=match,pattern=/^V(\\d)/,group=1",
        ),
        _tag(
            "tag-match-missing-group",
            "v1.2.3",
            images="user/app",
            tags="type=match,pattern=v(\\d),group=3\ntype=match,pattern=(x)?v,group=1\ntype=ref,event=tag",
        ),
        _tag(
            "tag-flavor-onlatest",
            "v1.1.1",
            images="user/app",
            tags="type=semver,pattern={{version}}",
            flavor="prefix=pre-,onlatest=true\nsuffix=-suf,onlatest=false",
        ),
        _tag(
            "tag-flavor-suffix-onlatest",
            "v1.1.1",
            images="user/app",
            tags="type=semver,pattern={{version}}\ntype=sha",
            flavor="suffix=-alpine,onlatest=true",
        ),
        _tag(
            "tag-sha-first",
            "v1.1.1",
            images="user/app",
            tags="type=sha,priority=1001\ntype=semver,pattern={{version}}",
        ),
        _tag(
            "tag-pep440-raw-pattern",
            "v1.2.3rc2",
            images="user/app",
            tags="type=pep440,pattern={{raw}}\ntype=pep440,pattern={{ raw }}\ntype=pep440,pattern={{version}}",
        ),
        _tag(
            "tag-pep440-epoch-local",
            "1!2.0+local.7",
            images="user/app",
            tags="type=pep440,pattern={{version}}\ntype=pep440,pattern={{major}}.{{minor}}.{{patch}}",
        ),
        _tag(
            "tag-date-and-tag",
            "v1.1.1",
            images="user/app",
            tags="type=raw,value={{tag}}-{{date 'YYYYMMDD'}}\ntype=raw,value={{is_default_branch}}",
        ),
        _tag(
            "tag-labels-version",
            "v1.1.1",
            images="user/app",
            tags="type=semver,pattern={{version}}",
            labels="org.opencontainers.image.version={{tag}}",
        ),
        _tag(
            "tag-uppercase-images",
            "v1.1.1",
            images="Ghcr.io/ACME/App\nname=Docker.io/Acme/App",
            tags="type=semver,pattern={{version}}",
        ),
    ]
    # -- parsing and version edge cases ------------------------------------------------------
    edge = [
        ("quotes", "v1.2.3", {"tags": '"type=raw,value=a,b"\ntype=raw,"value=c,d",suffix=-x'}, {}),
        ("quote-mid-field", "v1.2.3", {"tags": 'type=raw,value="q"'}, {}),
        ("quote-escaped", "v1.2.3", {"tags": 'type=raw,"value=a""b"'}, {}),
        ("quote-then-text", "v1.2.3", {"tags": 'type=raw,"value=ab"x'}, {}),
        ("quoted-image", "v1.2.3", {"images": '"a/b",c/d', "tags": "type=sha"}, {}),
        (
            "named-group",
            "v1.2.3",
            {"tags": "type=match,pattern=/(?<maj>\\d+)\\.(\\d+)/,group=2"},
            {},
        ),
        ("global-regex", "v1.2.3", {"tags": "type=match,pattern=/\\d/g,group=1"}, {}),
        (
            "label-expressions",
            "v1.2.3",
            {"tags": "type=sha", "labels": "build.date={{date 'YYYY-MM-DD'}}\nx={{tag}}"},
            {},
        ),
        (
            "sha-decides-latest",
            "v1.2.3",
            {"tags": "type=sha,priority=950\ntype=semver,pattern={{version}}"},
            {},
        ),
        (
            "enable-default-on-tag",
            "v1.2.3",
            {
                "tags": "type=semver,pattern={{major}},enable={{is_default_branch}}\ntype=ref,event=tag"
            },
            {},
        ),
        (
            "image-spaces",
            "v1.2.3",
            {"images": " name = App , enable = true \nother", "tags": "type=ref,event=tag"},
            {},
        ),
        (
            "custom-level-annotations",
            "v1.2.3",
            {"tags": "type=sha", "annotations": "manifest:foo=bar\nbaz=1"},
            {"DOCKER_METADATA_ANNOTATIONS_LEVELS": "index"},
        ),
        ("trailing-comma", "v1.2.3", {"tags": "type=sha,\ntype=ref,event=tag,"}, {}),
        (
            "nan-priority",
            "v1.2.3",
            {"tags": "type=sha\ntype=raw,value=foo,priority=abc\ntype=ref,event=tag"},
            {},
        ),
        (
            "semver-two-parts",
            "v1.2",
            {"tags": "type=semver,pattern={{version}}\ntype=ref,event=tag"},
            {},
        ),
        ("semver-equals", "=1.2.3", {"tags": "type=semver,pattern={{version}}"}, {}),
        ("semver-capital-v", "V1.2.3", {"tags": "type=semver,pattern={{version}}"}, {}),
        (
            "pep440-upper",
            "V1.2.3RC1",
            {"tags": "type=pep440,pattern={{version}}\ntype=pep440,pattern={{raw}}"},
            {},
        ),
        ("pep440-implicit-post", "1.0-1", {"tags": "type=pep440,pattern={{version}}"}, {}),
        ("pep440-local-upper", "1.0+ABC.007", {"tags": "type=pep440,pattern={{version}}"}, {}),
        (
            "sha-length-zero",
            "v1.2.3",
            {"tags": "type=sha\ntype=ref,event=tag"},
            {"DOCKER_METADATA_SHORT_SHA_LENGTH": "0"},
        ),
        (
            "sha-length-negative",
            "v1.2.3",
            {"tags": "type=sha\ntype=ref,event=tag"},
            {"DOCKER_METADATA_SHORT_SHA_LENGTH": "-3"},
        ),
        ("hash-inside-line", "v1.2.3", {"tags": "type=raw,value=a#b\n#type=sha"}, {}),
    ]
    for id_, tag, inputs, env in edge:
        out.append(_tag(f"edge-{id_}", tag, env, **{"images": "user/app", **inputs}))
    # Unquoted date formats: upstream's case pr12 in both tag tables of
    # __tests__/meta.test.ts ("tags" and "pr-head-sha"), and the same in every place a
    # date helper is rendered (a global expression, a schedule pattern, a label, a time zone).
    pr = {"event": "pull_request", "event_name": "pull_request", "ref": "refs/pull/15/merge"}
    out += [
        Case(
            "pr12-commit-date-unquoted",
            sha=MERGE_SHA,
            inputs={
                "images": "org/app",
                "tags": "type=raw,value={{commit_date YYYY-MM-DD-HHmmSS}}",
            },
            **pr,
        ),
        Case(
            "pr12-head-sha-commit-date-unquoted",
            sha=MERGE_SHA,
            inputs={"images": "org/app", "tags": "type=raw,value=src-{{commit_date YYYY-MM-DD}}"},
            env={"DOCKER_METADATA_PR_HEAD_SHA": "true"},
            **pr,
        ),
        _push(
            "push-date-unquoted",
            images="user/app",
            tags="type=raw,value={{date YYYYMMDD}}\ntype=raw,value=t-{{date YYYYMMDD tz='Asia/Tokyo'}}\ntype=raw,value=e-{{date ''}}\ntype=raw,value=n-{{date null}}",
            labels="build.date={{commit_date YYYY}}",
        ),
        Case(
            "schedule-date-unquoted",
            event="schedule",
            event_name="schedule",
            inputs={
                "images": "user/app",
                "tags": "type=schedule,pattern={{date YYYYMMDD}}\ntype=schedule,pattern=c-{{commit_date YYYY tz='Europe/London'}}",
            },
        ),
        # Label keys beyond ASCII, case and punctuation: the anchor orders them with
        # JavaScript's localeCompare.
        Case(
            "labels-order-non-ascii",
            inputs={
                "images": "user/app",
                "tags": "type=ref,event=branch",
                "labels": "\n".join(
                    f"{k}=1"
                    for k in (
                        "zeta",
                        "Zeta",
                        "élan",
                        "elan",
                        "Elan",
                        "eclair",
                        "ÉLAN",
                        "ezra",
                        "straße",
                        "strasse",
                        "strasze",
                        "über",
                        "uber",
                        "Uber",
                        "uz",
                        "ñu",
                        "nu",
                        "nz",
                        "æther",
                        "aether",
                        "afar",
                        "øre",
                        "ore",
                        "orz",
                        "ça",
                        "ca",
                        "cz",
                        "日本",
                        "中文",
                        "한국",
                        "русский",
                        "ελληνικά",
                        "עברית",
                        "عربي",
                        "ﬁle",
                        "file",
                        "a-b",
                        "a_b",
                        "a.b",
                        "a1",
                        "a9",
                        "a10",
                        "ab",
                        "A",
                        "a",
                        "_x",
                        "-x",
                        "~x",
                        "1x",
                        "ǆ",
                        "dž",
                        "ŀl",
                        "\u0131",  # dotless i
                        "i",
                        "İ",
                    )
                ),
            },
        ),
    ]
    out.append(
        Case(
            "edge-label-escapes",
            inputs={
                "images": "user/app",
                "tags": "type=ref,event=branch",
                "labels": 'desc=héllo "q" \\ back\ttab',
            },
        )
    )
    return out
