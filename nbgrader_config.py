"""nbgrader configuration: the repository root is the nbgrader course directory.

Instructor notebooks live in solutions/ (nbgrader's "source") and the learner notebooks
generated from them in exercises/ (nbgrader's "release"), so plain `nbgrader
generate_assignment` and `nbgrader autograde` work here unchanged.
"""

c = get_config()  # noqa: F821 - nbgrader defines get_config when it loads this file

c.CourseDirectory.course_id = "azml-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# Per-cell limit in seconds; a cell that runs longer is interrupted and scores zero, and
# the rest of the notebook still runs.
c.Execute.timeout = 30

# Rubric files stay with the instructor: a copy of each lives in its hidden-test cell.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "rubrics"]
