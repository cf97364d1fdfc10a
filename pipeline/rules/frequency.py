"""Frequency rules: duplicate lines and doses repeated sooner than the curated interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims_audit.columns import TEXT, group_ids
from claims_audit.rules.common import (
    NO_POLICY,
    RuleContext,
    drug_policy,
    finer_groups,
    first_by_claim_line,
    fmt_date,
    fmt_num,
    join_text,
)
from claims_audit.rules.registry import Flags, rule

SCHEDULE = ["patient_id", "hcpcs_code", "min_days"]  # a patient's doses of one schedule
DUPLICATE_KEY = [
    "patient_key",  # patient_id, factorised by enrich
    "provider_key",
    "hcpcs_code",
    "service_date",
    "modifiers",
    "billed_units",
]


@rule(
    "F001",
    "duplicate-line",
    "frequency",
    "error",
    "CMS NCCI Policy Manual ch. 1 (duplicate services); payer duplicate-claim edits",
)
def duplicate_line(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: same patient, provider (provider_id when present; lines without one count
    as one provider), code, date of service, modifiers and units as an earlier line (by
    claim_id, line_number) of this or another claim. The first occurrence is not flagged. A line
    of a replacement claim (claim_frequency 7) is never a duplicate: it replaces the claim it
    repeats, so it is not applicable and is not counted as an occurrence either (the input does
    not say which claim it replaces). Void claims (8) take no part (they are not audited).
    Why it matters: duplicates are denied, or paid twice and recouped; they usually come from a
    resubmission sent as a new claim instead of a replacement, or a double charge entry.
    Example: claim C1 line 2 and claim C7 line 1 both bill J9035 40 units for one patient and
    provider on 2026-01-14; C7 line 1 is flagged. The same services by two providers (two
    provider_id) are not duplicates.
    Fix: void the duplicate or send it as a replacement claim (frequency 7); if two
    administrations really happened, document them and use the modifier the payer requires
    (e.g. 76/59) with distinct units.
    """
    applicable = lines["in_scope"] & ~lines["is_replacement"]
    judged = applicable.to_numpy(dtype=bool)
    key = finer_groups(lines, ctx, DUPLICATE_KEY, among=judged)
    counts = np.bincount(key, weights=judged.astype(np.float64))
    at = np.flatnonzero(judged & (counts[key] > 1))  # only lines whose key repeats: ordered
    ordered, first = first_by_claim_line(lines, at, key[at])
    dup = ordered != first
    flagged, first = ordered[dup], first[dup]
    claims = lines["claim_id"].iloc[first].astype(TEXT).reset_index(drop=True)
    numbers = lines["line_number"].iloc[first].astype(TEXT).reset_index(drop=True)
    original = claims + " line " + numbers
    original.index = lines.index[flagged]  # the flagged lines' labels
    mask = np.zeros(len(lines), dtype=bool)
    mask[flagged] = True
    return Flags(
        mask=pd.Series(mask, index=lines.index),
        applicable=applicable,
        observed=lambda r: original.reindex(r.index),
        message=lambda r: join_text(
            r["hcpcs_code"],
            " ",
            fmt_num(r["billed_units"]),
            " units on ",
            fmt_date(r["service_date"]),
            " duplicates claim ",
            original.reindex(r.index),
        ),
    )


def _dose_events(frame: pd.DataFrame, ctx: RuleContext, as_text: bool) -> pd.DataFrame:
    """Distinct (patient, schedule, date) doses of drugs with a curated interval. A schedule
    is the code with its interval: one code's products with the same interval share it
    (Prolia's packages), a product with another interval (Xgeva under J0897) keeps its own.
    `as_text`: patient and code as text, comparable with another frame's (history); else the
    patient is the batch's `patient_key` (its factorised patient_id) and the code stays a
    categorical: the schedules are grouped on their integer codes."""
    min_days = drug_policy(frame, ctx, "min_days_between_doses")
    keep = (frame["in_scope"] & ~frame["has_jw"] & min_days.notna()).to_numpy()
    patient = "patient_id" if as_text or "patient_key" not in frame else "patient_key"
    doses = frame.loc[keep, [patient, "hcpcs_code", "service_date"]]
    doses = doses.rename(columns={patient: "patient_id"})
    if as_text:
        doses = doses.assign(
            patient_id=doses["patient_id"].astype(TEXT), hcpcs_code=doses["hcpcs_code"].astype(TEXT)
        )
    return doses.assign(min_days=min_days[keep].astype("float64"))


NS_PER_DAY = 86_400_000_000_000


def previous_doses(events: pd.DataFrame) -> np.ndarray:
    """Per dose event, the date of the previous distinct dose date of its schedule (NaT for
    the first): events sorted once by integer schedule id and day, no string sort or merge.
    Events of one schedule and date are one dose, so their order among themselves does not
    matter: one quicksort of a (schedule, day rank) number instead of a stable two-key sort."""
    schedule = group_ids(*(events[c] for c in SCHEDULE))
    day = events["service_date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    days, day_rank = np.unique(day, return_inverse=True)
    order = np.argsort(schedule * len(days) + day_rank.ravel())
    s, d = schedule[order], day[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])  # a distinct (schedule, date)
    starts = np.flatnonzero(new)
    prev = np.full(len(starts), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    same = s[starts[1:]] == s[starts[:-1]]
    prev[1:] = np.where(same, d[starts[:-1]], prev[1:])
    event = np.empty(len(order), dtype=np.int64)
    event[order] = np.cumsum(new) - 1
    return prev[event].view("datetime64[ns]")


@rule(
    "F002",
    "dose-too-soon",
    "frequency",
    "warning",
    "Curated dosing intervals (reference/drug_policy.csv), each row citing the FDA label",
)
def dose_too_soon(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a repeat dose of a drug for the same patient sooner than the curated
    minimum interval, looking at this batch and any `--history` claims. Without a curated
    interval the rule does not fire.
    Why it matters: frequency limits are coverage limits; a dose too soon is denied, and can be
    a duplicate or a data-entry error on the date.
    Example: Prolia (J0897, 55513-0710-01) is given every 6 months; a second dose 60 days after
    the first is flagged. Xgeva shares J0897 but is given every 4 weeks: the interval comes
    from the NDC's curated row, and a schedule is the code with its interval, so Prolia's
    packages share one and Xgeva keeps its own.
    Fix: check the date of service and the product; if right, document medical necessity.
    """
    with_history = ctx.history is not None and len(ctx.history) > 0
    current = _dose_events(lines, ctx, as_text=with_history)
    events = current
    if with_history:
        history = _dose_events(ctx.history, ctx, as_text=True)
        events = pd.concat([current, history], ignore_index=True)
    at = lines.index.get_indexer(current.index)  # the dose lines' positions
    previous = np.full(len(lines), np.datetime64("NaT"), dtype="datetime64[ns]")
    previous[at] = previous_doses(events)[: len(current)]
    dates = lines["service_date"].to_numpy(dtype="datetime64[ns]")
    gap = (dates - previous).astype(np.int64) // NS_PER_DAY  # whole days, as `.dt.days`
    gap_days = pd.Series(np.where(np.isnat(previous), np.nan, gap), index=lines.index)
    min_days = np.full(len(lines), np.nan)
    min_days[at] = current["min_days"].to_numpy(dtype="float64")
    min_days = pd.Series(min_days, index=lines.index)
    mask = (gap_days < min_days).fillna(False).astype(bool)
    evaluated = np.zeros(len(lines), dtype=bool)
    evaluated[at] = True
    previous = pd.Series(previous, index=lines.index)
    return Flags(
        mask=mask,
        applicable=~lines["has_jw"],
        evaluated=pd.Series(evaluated, index=lines.index),
        reason=NO_POLICY,
        observed=gap_days,
        expected=min_days,
        message=lambda r: join_text(
            r["hcpcs_code"],
            " given ",
            fmt_num(r.pick(gap_days)),
            " days after the previous dose on ",
            fmt_date(r.pick(previous)),
            "; minimum interval ",
            fmt_num(r.pick(min_days)),
            " days",
        ),
    )
