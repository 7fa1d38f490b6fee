"""nbgrader settings for instructors' and TAs' own servers: the course, the exchange, and the
Course List asking JupyterHub which formgrader services they may open."""
from autograde.hub_course import student_config

c = get_config()  # noqa: F821
c.merge(student_config())
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
