#!/usr/bin/env python3
"""Measure how many corpus compose files `fleet validate --worktree` accepts.

Usage: measure.py FLEET_BINARY [CORPUS_DIR ...]

For every `compose.yaml` under the given corpus directories (default: the
`selfhosted` corpus beside this script), the sample's directory is copied to
`app/` in a temporary project with a three-host `fleet.yaml` that includes
`app/compose.yaml`, and `fleet validate --worktree` is run there twice:

  1. the file as is;
  2. with every `build:` key removed from the services (a service left without
     `image:` gets `image: example/<service>:latest`).

Exit status 0 counts as valid, anything else as refused. Prints, per sample,
the verdict and the error lines, then totals and a tally of the error messages
grouped by the Compose key they name.

Needs PyYAML only for pass 2 (falls back to a line-based edit without it).
"""

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

FLEET_YAML = """project: corpus
hosts:
  a: { address: ssh://a.example }
  b: { address: ssh://b.example }
  c: { address: ssh://c.example }
include: [app/compose.yaml]
"""

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def find_samples(roots):
    samples = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            if "compose.yaml" in filenames:
                samples.append(dirpath)
    return sorted(samples)


def strip_build_text(text):
    """Remove `build:` keys from services, line-based, keeping everything else
    (comments, anchors, quoting) byte for byte. Adds `image:` where needed."""
    lines = text.splitlines(keepends=True)
    out = []
    in_services = False
    svc_indent = None  # indent of service names
    cur_service = None
    cur_has_image = False
    cur_insert_at = None  # index in out where to add image
    cur_key_indent = None
    pending = []  # (insert_index, indent, service) for services lacking image

    def close_service():
        if cur_service is not None and not cur_has_image and cur_insert_at is not None:
            pending.append((cur_insert_at, cur_key_indent, cur_service))

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped and not stripped.startswith("#"):
            if indent == 0:
                close_service()
                cur_service = None
                in_services = stripped.startswith("services:")
                svc_indent = None
            elif in_services:
                if svc_indent is None:
                    svc_indent = indent
                if indent == svc_indent:
                    close_service()
                    m = re.match(r"['\"]?([^'\":]+)['\"]?\s*:", stripped)
                    cur_service = m.group(1) if m else None
                    cur_has_image = False
                    cur_insert_at = None
                    cur_key_indent = None
                elif cur_service is not None and indent > svc_indent:
                    if cur_key_indent is None:
                        cur_key_indent = indent
                        cur_insert_at = len(out)
                    if indent == cur_key_indent:
                        if re.match(r"image\s*:", stripped):
                            cur_has_image = True
                        if re.match(r"build\s*:", stripped):
                            # skip this key and its nested block
                            i += 1
                            while i < len(lines):
                                nxt = lines[i]
                                ns = nxt.strip()
                                nind = len(nxt) - len(nxt.lstrip(" "))
                                if ns and not ns.startswith("#") and nind <= cur_key_indent:
                                    break
                                if not ns and i + 1 < len(lines):
                                    # blank line: keep scanning, drop it
                                    pass
                                i += 1
                            continue
        out.append(line)
        i += 1
    close_service()
    for idx, ind, svc in sorted(pending, reverse=True):
        out.insert(idx, " " * ind + "image: example/%s:latest\n" % svc)
    return "".join(out)


def strip_build(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = strip_build_text(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    return new != text


def run(fleet, sample, remove_build):
    with tempfile.TemporaryDirectory(prefix="fleet-corpus-") as tmp:
        shutil.copytree(sample, os.path.join(tmp, "app"), symlinks=True)
        with open(os.path.join(tmp, "fleet.yaml"), "w") as f:
            f.write(FLEET_YAML)
        if remove_build:
            strip_build(os.path.join(tmp, "app", "compose.yaml"))
        env = dict(os.environ, NO_COLOR="1", CLICOLOR="0")
        p = subprocess.run(
            [fleet, "validate", "--worktree"],
            cwd=tmp,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        text = ANSI.sub("", p.stdout + p.stderr)
        errors = [l.strip() for l in text.splitlines() if re.search(r"\berror:", l)]
        if p.returncode != 0 and not errors:
            errors = [l.strip() for l in text.splitlines() if l.strip()][:5]
        return p.returncode, errors, text


ERROR_RE = re.compile(r"\berror:\s*(?P<path>[^\s:]+):\s*(?P<msg>.*)$")


def key_of(error):
    """(Compose key, kind) an error names: the key is the path in the file with
    the service name, indexes and map keys dropped (`services.web.volumes[0]`
    -> `services.*.volumes`); the kind is the message with quoted values,
    numbers and service lists blanked."""
    m = ERROR_RE.search(error)
    if not m:
        shape = re.sub(r"`[^`]*`", "`…`", error)
        return ("?", re.sub(r"\d+", "N", shape)[:100])
    path, msg = m.group("path"), m.group("msg")
    parts = re.sub(r"\[\d+\]", "", path).split(".")
    if parts[0] == "services" and len(parts) >= 3:
        key = "services.*." + parts[2]
    elif parts[0] in ("volumes", "networks", "configs", "secrets") and len(parts) >= 3:
        key = parts[0] + ".*." + parts[2]
    else:
        key = parts[0] if parts[0] != "services" else path
    msg = re.sub(r"\s*\(in services [^)]*\)", "", msg)
    if "not supported" not in msg and "is ignored" not in msg:
        msg = re.sub(r"`[^`]*`", "`…`", msg)
    msg = re.sub(r"\d+", "N", msg)
    msg = msg.split(";")[0]
    return (key, msg[:110])


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    fleet = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    roots = sys.argv[2:] or [os.path.join(here, "selfhosted")]
    samples = find_samples(roots)
    totals = {}
    tallies = {}
    for label, remove in (("as is", False), ("build removed", True)):
        print("=" * 72)
        print("Pass: %s" % label)
        print("=" * 72)
        valid = 0
        tally = collections.Counter()
        alone = collections.Counter()
        key_tally = collections.Counter()
        key_alone = collections.Counter()
        for s in samples:
            name = os.path.relpath(s, os.path.commonpath(roots) if len(roots) > 1 else roots[0])
            rc, errors, _ = run(fleet, s, remove)
            if rc == 0:
                valid += 1
                print("%-28s valid" % name)
                continue
            print("%-28s refused (exit %d)" % (name, rc))
            for e in errors[:5]:
                print("    " + e)
            if len(errors) > 5:
                print("    ... %d more error line(s)" % (len(errors) - 5))
            kinds = sorted({key_of(e) for e in errors})
            for k in kinds:
                tally[k] += 1
            if len(kinds) == 1:
                alone[kinds[0]] += 1
            keys = sorted({k for k, _ in kinds})
            for k in keys:
                key_tally[k] += 1
            if len(keys) == 1:
                key_alone[keys[0]] += 1
        totals[label] = (valid, len(samples))
        tallies[label] = (tally, alone)
        print()
        print("valid %d / %d" % (valid, len(samples)))
        print("blocking Compose keys (files blocked, files blocked by that key alone):")
        for k, n in key_tally.most_common():
            print("  %4d %4d  %s" % (n, key_alone[k], k))
        print("blocking error kinds (files blocked, files blocked by that kind alone):")
        for (k, msg), n in tally.most_common():
            print("  %4d %4d  %s: %s" % (n, alone[(k, msg)], k, msg))
        print()
    print("Totals:")
    for label, (v, n) in totals.items():
        print("  %-14s valid %d / %d" % (label, v, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
