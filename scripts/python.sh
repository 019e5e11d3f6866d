# Sourced by the other scripts: sets PY to the Python to install into and run.
# Default: a virtual environment of the checkout's own, .venv (made on first
# use).  PYTHON=/path/to/python picks another interpreter (its environment is
# then used as it is: make it a virtualenv of your own).
if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON
else
    if [ ! -x .venv/bin/python ] && [ ! -x .venv/Scripts/python.exe ]; then
        python3 -m venv .venv
    fi
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=.venv/Scripts/python.exe; fi
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_WARN_SCRIPT_LOCATION=1 PIP_ROOT_USER_ACTION=ignore
