"""myanmar-brief: cited data on Myanmar's junta between China and Russia, and the briefs built on it."""

from .data import Dataset, load
from .errors import BriefError
from .validation import validate

__all__ = ["BriefError", "Dataset", "load", "validate"]
__version__ = "0.1.0"
