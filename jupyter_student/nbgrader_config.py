"""nbgrader settings for a student's own JupyterLab (`make lab`): Validate runs each cell as long
as the grader does (nbgrader's default of 30 s would cut a lab's training cell short), and shows a
failing check's whole message (nbgrader's 90 columns cut off the got/expected at its end)."""

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.Execute.timeout = 300  # autograde.course.CELL_TIMEOUT_S; tests/test_validate.py keeps them equal
c.Execute.interrupt_on_timeout = True
c.Validator.width = 200  # autograde.hub_course.VALIDATE_WIDTH; tests/test_browser.py keeps them equal
