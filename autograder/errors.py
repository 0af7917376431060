"""Exceptions raised by the autograder package.

Each error subclasses the built-in that fits it, so callers may catch either. All of them
are picklable, because grading runs in worker processes and errors cross process bounds.
"""


class AutograderError(Exception):
    """Base class of every error this package raises on purpose."""


class CurriculumError(AutograderError, ValueError):
    """Raised when curriculum.yaml or the notebooks it lists are inconsistent.

    ``problems`` holds every problem found, so one run reports all of them at once.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"curriculum has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([heading, *(f"  - {p}" for p in self.problems)]))

    def __reduce__(self):
        return (type(self), (self.problems,))


class UnknownExerciseError(AutograderError, KeyError):
    """Raised when an exercise or module id is not in the course."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a message reads better without the quotes.
        return str(self.args[0]) if self.args else ""


class SubmissionError(AutograderError, ValueError):
    """Raised when a submission folder or notebook cannot be graded at all."""


class GradebookError(AutograderError, OSError):
    """Raised when the gradebook database cannot be opened or written."""


class BuildError(AutograderError, RuntimeError):
    """Raised when nbgrader fails to generate the learner notebooks."""


class CourseNotFoundError(AutograderError, FileNotFoundError):
    """Raised when no course directory (a folder with curriculum.yaml) is found."""


class FolderNotEmptyError(AutograderError, FileExistsError):
    """Raised when a command would write into a folder that already holds files."""


class SpecInputError(AutograderError, ValueError):
    """Raised when a spec cannot be checked at all.

    The causes are a missing or unreadable file, YAML that does not parse or is not a
    mapping, a value of an unsupported type, or an unknown kind, teaching rule or context key.
    Problems inside a readable spec are findings, never this error.
    """


class TamperedRecordingError(AutograderError, ValueError):
    """Raised when a recording from a grading kernel is not the shape the recorder writes.

    The learner's code runs in that kernel and can change anything there, so the grader
    reads a recording as untrusted input and rejects it whole on the first malformed part.
    """
