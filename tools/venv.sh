#!/bin/sh
# Make (or check) the virtual environment that `make` installs into.
#
#   sh tools/venv.sh PYTHON VENV [GOAL]
#
# Run by the Makefile before every command that needs .venv (a working one costs one Python
# start-up). Prerequisites are checked before anything is made, so a missing one is one
# clear line and no half-made environment is left behind: Python 3.11 or newer, and its
# `venv` and `ensurepip` modules (Debian and Ubuntu ship them apart, as python3-venv). An
# environment left half-made by an earlier failure (no pip in it), or made with a Python
# older than 3.11, is removed and made again.
set -u
PYTHON=$1
VENV=$2
GOAL=${3:-html}

# Prints the version of Python $1 as X.Y.Z (and nothing if it cannot run).
version_of() {
    "$1" -c 'import sys; print("%d.%d.%d" % tuple(sys.version_info[:3]))' 2>/dev/null
}

# Succeeds when version $1 (X.Y.Z) is 3.11 or newer.
new_enough() {
    major=${1%%.*}
    rest=${1#*.}
    minor=${rest%%.*}
    [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 11 ]; }
}

if [ -x "$VENV/bin/python" ]; then
    have=$(version_of "$VENV/bin/python")
    if [ -n "$have" ] && new_enough "$have" \
        && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
        exit 0  # a working environment: keep it
    fi
    if [ -z "$have" ]; then
        echo "make: $VENV is broken (its python does not run); removing it and making it again"
    elif new_enough "$have"; then
        echo "make: $VENV is incomplete (no pip in it: an earlier creation failed);" \
            "removing it and making it again"
    else
        echo "make: $VENV has Python $have, older than 3.11; removing it and making it again"
    fi
    rm -rf "$VENV"
elif [ -e "$VENV" ]; then
    echo "make: $VENV is incomplete (no $VENV/bin/python); removing it and making it again"
    rm -rf "$VENV"
fi

version=$(version_of "$PYTHON")
if [ -z "$version" ]; then
    echo "make: cannot run '$PYTHON'. mathgrad needs Python 3.11 or newer: install it, or" \
        "name one, e.g. make $GOAL PYTHON=python3.12"
    exit 1
fi
# "python3 (/usr/bin/python3)", or just the path when PYTHON is one.
where=$(command -v "$PYTHON" 2>/dev/null || echo "$PYTHON")
named=$PYTHON
desc="$PYTHON (Python $version)"
if [ "$where" != "$PYTHON" ]; then
    named="$PYTHON ($where)"
    desc="$PYTHON (Python $version, $where)"
fi
if ! new_enough "$version"; then
    echo "make: mathgrad needs Python 3.11 or newer, but $named is Python $version;" \
        "name a newer one, e.g. make $GOAL PYTHON=python3.12"
    exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    short=${version%.*}
    echo "make: $desc has no venv/ensurepip module, needed to make" \
        "$VENV; on Debian or Ubuntu: sudo apt install python3-venv (or python$short-venv)"
    exit 1
fi

echo "make: creating $VENV with $desc"
if ! "$PYTHON" -m venv "$VENV" || ! "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
    rm -rf "$VENV"
    echo "make: '$PYTHON -m venv $VENV' failed (see above); nothing was left behind"
    exit 1
fi
