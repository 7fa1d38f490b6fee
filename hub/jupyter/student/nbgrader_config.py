"""nbgrader settings for users' servers on the course hub: the course id and the exchange folder."""
from autograde.hub_course import student_config

c = get_config()  # noqa: F821
c.merge(student_config())
