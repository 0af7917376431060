"""The course directory: find it, drive nbgrader on it, and build the learner notebooks.

The repository root is an nbgrader course: ``solutions/`` is nbgrader's source folder and
``exercises/`` its release folder. Building runs ``nbgrader generate_assignment`` for every
available module, then validates the curriculum against both folders.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from traitlets.config import Config

from autograder.authoring import RUBRIC_FOLDER, embed_rubrics
from autograder.curriculum import Curriculum, load_curriculum, validate_course
from autograder.errors import BuildError, CourseNotFoundError

logger = logging.getLogger(__name__)

CURRICULUM_FILE = "curriculum.yaml"
SOURCE_DIRECTORY = "solutions"
RELEASE_DIRECTORY = "exercises"
COURSE_ID = "azml-course"
# nbgrader's own default of CourseDirectory.ignore, as of nbgrader 0.9.
NBGRADER_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]


def find_course_root(start: Path | None = None) -> Path:
    """Return the course folder: ``start`` (or the current folder) or the nearest parent with curriculum.yaml."""
    start = Path(start or Path.cwd()).resolve()
    if not start.is_dir():
        raise CourseNotFoundError(f"course folder {start} does not exist; pass --course with the folder that holds {CURRICULUM_FILE}")
    for folder in (start, *start.parents):
        if (folder / CURRICULUM_FILE).is_file():
            return folder
    raise CourseNotFoundError(
        f"no {CURRICULUM_FILE} in {start} or its parents; run the command inside the course "
        "repository or pass --course DIR"
    )


def nbgrader_config(root: Path, gradebook_url: str, **directories: str) -> Config:
    """Return an nbgrader configuration for the course at ``root``.

    ``directories`` sets CourseDirectory traits such as ``submitted_directory``; absolute
    paths place those folders outside the course, which nbgrader supports.
    """
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.source_directory = str(root / SOURCE_DIRECTORY)
    config.CourseDirectory.release_directory = str(root / RELEASE_DIRECTORY)
    config.CourseDirectory.db_url = gradebook_url
    # nbgrader's exchange serves JupyterHub's assignment list; the course never uses it, and
    # its default under /usr/local/share logs a critical error when it is not writable.
    exchange = Path(tempfile.gettempdir()) / "azml-course-exchange"
    exchange.mkdir(exist_ok=True)
    config.Exchange.root = str(exchange)
    # Rubric files are instructor material: their copies in the hidden-test cells grade, and
    # the files themselves must not reach the learners' exercises/.
    config.CourseDirectory.ignore = [*NBGRADER_IGNORE, RUBRIC_FOLDER]
    for name, value in directories.items():
        setattr(config.CourseDirectory, name, value)
    return config


@contextlib.contextmanager
def nbgrader_environment() -> Iterator[None]:
    """Prepare the process for nbgrader: PATH for its tools, and its logging kept quiet.

    nbgrader upgrades a gradebook by running the ``alembic`` command, which a virtual
    environment installs next to its Python but does not put on PATH unless activated.
    """
    scripts = str(Path(sys.executable).parent)
    previous = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([scripts, previous]) if previous else scripts
    # nbgrader's apps log every converted notebook through traitlets at INFO; the caller
    # reports outcomes itself, so those lines reach the root logger only with --verbose.
    traitlets_logger = logging.getLogger("traitlets")
    propagate = traitlets_logger.propagate
    traitlets_logger.propagate = logging.getLogger().isEnabledFor(logging.INFO)
    try:
        yield
    finally:
        os.environ["PATH"] = previous
        traitlets_logger.propagate = propagate


def build_course(root: Path, release_directory: Path | None = None) -> Curriculum:
    """Generate the learner notebooks of every available module with nbgrader, then validate.

    First, each decision exercise's rubric file is copied into its hidden-test cell.

    ``release_directory`` defaults to the course's ``exercises/``; pass another folder to
    regenerate elsewhere, for example to compare with the committed notebooks.
    """
    from nbgrader.apps import NbGraderAPI

    curriculum = load_curriculum(root / CURRICULUM_FILE)
    release = Path(release_directory or root / RELEASE_DIRECTORY)
    for module in curriculum.modules:
        decisions = [(e.name, e.notebook) for e in module.exercises if e.kind == "decision"]
        if module.available and decisions:
            embed_rubrics(root, module.id, decisions)
    with tempfile.TemporaryDirectory(prefix="azml-build-") as scratch, nbgrader_environment():
        # generate_assignment records cells in a gradebook; a scratch one keeps the course clean.
        gradebook_url = f"sqlite:///{Path(scratch) / 'gradebook.db'}"
        config = nbgrader_config(root, gradebook_url, release_directory=str(release))
        api = NbGraderAPI(config=config)
        for module in curriculum.modules:
            if module.available:
                _generate(api, module.id)
    if release_directory is None:
        return validate_course(root)
    return curriculum


def _generate(api, module_id: str) -> None:
    logger.info("generating learner notebooks of %s", module_id)
    result = api.generate_assignment(module_id, force=True, create=True)
    if not result.get("success"):
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()
        raise BuildError(
            f"nbgrader could not generate module {module_id} from {SOURCE_DIRECTORY}/{module_id}: "
            + (detail[-1] if detail else "no error message")
            + "; run `nbgrader generate_assignment " + module_id + " --force` in the course folder to see the full log"
        )
