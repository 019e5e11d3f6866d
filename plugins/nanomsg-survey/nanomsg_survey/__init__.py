"""nanomsg-survey: the SURVEYOR/RESPONDENT scalability protocols for nanomsg_core."""

from __future__ import annotations

from nanomsg_core import RESPONDENT, SURVEYOR, SURVEYOR_DEADLINE

from ._respondent import Respondent, RespondentContext, XRespondent, new_respondent
from ._surveyor import SurveyContext, Surveyor, SurveyorCtx, XSurveyor, new_surveyor

__all__ = ["RESPONDENT", "Respondent", "RespondentContext", "SURVEYOR",
           "SURVEYOR_DEADLINE", "SurveyContext", "Surveyor", "SurveyorCtx", "XRespondent",
           "XSurveyor", "new_respondent", "new_surveyor"]
