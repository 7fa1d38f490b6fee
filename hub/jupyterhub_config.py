"""JupyterHub for the course (`make hub`; docs/hub.md explains every choice).

- Binds only to 127.0.0.1 (HUB_PORT, default 8000; the hub's API and the proxy's API too).
- PAM authentication: the demo accounts are real Linux users with their own passwords
  (.hub/accounts.txt), so no one can log in as someone else.
- Each user's server runs as that Linux user (LocalProcessSpawner), with nbgrader's student tools
  (Assignment List, Validate); instructors and TAs also get the Course List, which links to
- the formgrader: a JupyterHub service named after the course, run by the grader account in the
  course folder, open only to the ``formgrade-<course>`` group (nbgrader's naming).
"""

import os
import sys
from pathlib import Path

HUB = Path(__file__).resolve().parent
REPO = HUB.parent
sys.path.insert(0, str(REPO))

from autograde.hub_course import HubPaths, Settings  # noqa: E402

c = get_config()  # noqa: F821
paths = HubPaths()
settings = Settings.load(os.environ.get("HUB_COURSE_SETTINGS") or HUB / "course.toml")
# the Python every account can run (autograde.hub.user_python; `make hub` sets it)
USER_PYTHON = os.environ.get("HUB_USER_PYTHON") or sys.executable
USER_PATH = f"{Path(USER_PYTHON).parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin"
# the course venv's Jupyter settings and extensions (JupyterLab, nbgrader), also for that Python
VENV_CONFIG = Path(sys.prefix) / "etc" / "jupyter"
VENV_DATA = str(Path(sys.prefix) / "share" / "jupyter")
port = int(os.environ.get("HUB_PORT", "8000"))

# --- network: loopback only ---
c.JupyterHub.bind_url = f"http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("HUB_API_PORT", str(port + 81)))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('HUB_PROXY_API_PORT', str(port + 1))}"
c.ConfigurableHTTPProxy.command = [str(HUB / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(paths.state / "proxy.pid")
c.Spawner.ip = "127.0.0.1"

# --- state: one folder ---
c.JupyterHub.db_url = f"sqlite:///{paths.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(paths.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(paths.state / "jupyterhub-app.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server it started
c.JupyterHub.cleanup_proxy = True

# --- who may log in ---
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no login sessions (containers rarely allow them)
c.Authenticator.allowed_users = set(settings.graders + settings.students)
c.Authenticator.admin_users = set(settings.instructors)

# --- users' servers ---
c.Spawner.cmd = [USER_PYTHON, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120  # a busy 2-core machine starts JupyterLab slowly
c.Spawner.start_timeout = 120
graders = set(settings.graders)


def _config_path(spawner) -> str:
    """Students get the student tools only; graders also the Course List (to the formgrader)."""
    role = "grader" if spawner.user.name in graders else "student"
    return f"{HUB / 'jupyter' / role}{os.pathsep}{VENV_CONFIG}"


c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": _config_path,
    "PATH": USER_PATH,
    "JUPYTER_PATH": VENV_DATA,
    "HUB_STATE": str(paths.state),
    "HUB_COURSE_SETTINGS": str(settings_file := Path(os.environ.get("HUB_COURSE_SETTINGS") or HUB / "course.toml")),
}

# --- groups and roles (nbgrader's one-class-multiple-graders layout) ---
c.JupyterHub.load_groups = {
    settings.formgrade_group: {"users": list(settings.graders)},
    settings.student_group: {"users": list(settings.students)},
}
c.JupyterHub.load_roles = [
    {
        "name": settings.formgrade_group,
        "groups": [settings.formgrade_group],
        "scopes": [f"access:services!service={settings.course_id}", "list:services",
                   f"read:services!service={settings.course_id}"],
    },
    {   # users' servers act with their owner's rights (the Course List asks the hub for services)
        "name": "server",
        "scopes": ["inherit"],
    },
]

# --- the formgrader, run by the grader account in the course folder ---
service_port = int(os.environ.get("HUB_SERVICE_PORT", str(port + 2)))
c.JupyterHub.services = [
    {
        "name": settings.course_id,
        "url": f"http://127.0.0.1:{service_port}",
        "command": [USER_PYTHON, "-m", "jupyterhub.singleuser", f"--ServerApp.root_dir={paths.course}"],
        "user": settings.grader,
        "cwd": str(paths.course),
        "display": True,
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "JUPYTER_CONFIG_PATH": f"{HUB / 'jupyter' / 'service'}{os.pathsep}{VENV_CONFIG}",
            "JUPYTER_PATH": VENV_DATA,
            "HUB_STATE": str(paths.state),
            "HUB_COURSE_SETTINGS": str(settings_file),
            "PYTHONPATH": str(REPO),
            "PATH": USER_PATH,
        },
        "oauth_no_confirm": True,
        "timeout": 300,  # JupyterHub gives up (and exits) if the formgrader is not up by then
    }
]
