"""The course's late-submission policy, as an nbgrader LateSubmissionPlugin.

A submission after the lab's due date loses ``percent_per_day`` percent of its score for every
started day (24 h) late, after a grace period; the penalty never exceeds ``max_percent`` of the
score. nbgrader stores the penalty next to the raw score (gradebook, CSV export, formgrader, the
student's feedback page shows the score before and after it).

Example with the defaults (10 % per started day, 15 minutes grace, at most 50 %): 8 points
submitted 3 hours late lose 0.8; 30 hours late, 1.6; a week late, 4.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PercentPerDayLate(LateSubmissionPlugin):
    """``percent_per_day`` % of the score per started day late, capped at ``max_percent`` %."""

    percent_per_day = Float(10.0, help="Percent of the score lost per started day late").tag(config=True)
    grace_minutes = Float(15.0, help="Minutes after the due date that still count as on time").tag(config=True)
    max_percent = Float(50.0, help="Largest penalty, in percent of the score").tag(config=True)

    def days_late(self, total_seconds_late: float) -> int:
        """Started days late once the grace period is over (0 when on time)."""
        late = total_seconds_late - 60 * self.grace_minutes
        return math.ceil(late / 86400) if late > 0 else 0

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        days = self.days_late(total_seconds_late)
        percent = min(self.max_percent, self.percent_per_day * days)
        penalty = round(score * percent / 100, 2)
        if days:
            self.log.info("%s: %d day(s) late, penalty %g%% = %g of %g points", student_id, days, percent,
                          penalty, score)
        return penalty
