"""Checks and autograding for the azml-course notebooks on Azure Machine Learning.

Learners call :func:`check` in a notebook for instant feedback; instructors grade a cohort
with the ``azml-course`` command.
"""

from autograder.checks.core import CheckResult
from autograder.exercises import exercise_data
from autograder.learner import check

__all__ = ["CheckResult", "check", "exercise_data", "__version__"]
__version__ = "0.1.0"
