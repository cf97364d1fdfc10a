"""Payer rules: prior authorization, timely filing and coordination of benefits.

Which payer requires what is configuration (`audit.toml`, SPEC section 7), not a fact of the
code: defaults are only the SPEC's (Medicare timely filing: one calendar year after the date of
service, 42 CFR 424.44(a)(1); days only where `filing_limit_days` is configured).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import ARROW_TEXT, TEXT
from claims_audit.rules.common import (
    NO_FILING_LIMIT,
    NO_SUBMISSION_DATE,
    POLICY_KEY,
    RuleContext,
    distinct_of,
    distinct_sorted,
    fmt_date,
    fmt_num,
    join_text,
    member,
    payer_columns,
    per_payer,
    policy_of_pairs,
    reasons,
)
from claims_audit.rules.registry import Flags, rule

CALENDAR_YEAR_PAYERS = ("medicare",)  # P002's default rule where no filing_limit_days is set


def _matching(left: pd.DataFrame, right: pd.DataFrame, on: str) -> pd.DataFrame:
    """The (left row, right row) pairs whose `on` text is equal (NA matches nothing): an
    inner join of two small tables of distinct values."""
    left, right = (t[t[on].notna()].astype({on: object}) for t in (left, right))
    return left.merge(right, on=on)


def _listed_pairs(payers: pd.DataFrame, pairs: pd.DataFrame, ctx: RuleContext) -> pd.DataFrame:
    """The (payer, pair) whose payer's configured `require_prior_auth` list names the pair's
    code (`payer`, `pair`: row numbers of the distinct payers and (code, NDC) pairs)."""
    lists = ctx.config.payer_setting(payers, "require_prior_auth")  # a list, or NA
    entries = lists.reset_index(drop=True).explode().dropna()  # per (payer, listed code)
    if entries.empty:
        return pd.DataFrame({"payer": [], "pair": []}, dtype=np.int64)
    listed = pd.DataFrame({"payer": entries.index.to_numpy(), "code": entries.to_numpy()})
    codes = pd.DataFrame({"pair": np.arange(len(pairs)), "code": pairs["hcpcs_code"].to_numpy()})
    return _matching(listed, codes, "code")[["payer", "pair"]]


def _curated_pairs(payers: pd.DataFrame, pairs: pd.DataFrame, ctx: RuleContext) -> pd.DataFrame:
    """The (payer, pair) whose pair's curated `requires_prior_auth` (payer types separated by
    spaces) names the payer's type; each distinct curated text is split once."""
    curated = policy_of_pairs(pairs, ctx, "requires_prior_auth")
    of_pair, texts = pd.factorize(curated.to_numpy(dtype=object), use_na_sentinel=True)
    if not len(texts):
        return pd.DataFrame({"payer": [], "pair": []}, dtype=np.int64)
    names = pd.Series(texts, dtype="string").str.split().explode()  # by text number
    named = pd.DataFrame({"text": names.index.to_numpy(), "type": names.to_numpy(dtype=object)})
    types = pd.DataFrame({"payer": np.arange(len(payers)), "type": payers["payer_type"].array})
    by_text = _matching(named, types, "type")
    texts_of = pd.DataFrame({"pair": np.arange(len(pairs)), "text": of_pair})
    return by_text.merge(texts_of[of_pair >= 0], on="text")[["payer", "pair"]]


def prior_auth_required(lines: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """Per line: the payer's configured list names the code, or curated policy names the payer.
    The (payer, code and NDC) that require it are found from the distinct payers and (code,
    NDC) pairs (those the other payer and policy rules found) as two small joins, never a table
    of every payer with every pair; the lines look their (payer, pair) key up among them."""
    if lines.empty:
        return pd.Series(False, index=lines.index)
    payer, payers = distinct_of(lines, ctx, payer_columns(lines))
    pair, pairs = distinct_of(lines, ctx, POLICY_KEY)
    found = pd.concat([_listed_pairs(payers, pairs, ctx), _curated_pairs(payers, pairs, ctx)])
    if found.empty:
        return pd.Series(False, index=lines.index)
    span = max(len(pairs), 1)
    keys = found["payer"].to_numpy(dtype=np.int64) * span + found["pair"].to_numpy(np.int64)
    required = member(payer.astype(np.int64) * span + pair, distinct_sorted(keys))
    return pd.Series(required, index=lines.index)


@rule(
    "P001",
    "prior-auth-missing",
    "payer",
    "error",
    "Payer contract / audit.toml [payer.*] require_prior_auth; curated drug policy",
)
def prior_auth_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the configuration (`require_prior_auth` of the payer type or payer_id) or
    a curated policy row says the payer requires prior authorization for the code, and the
    line has no prior_auth_number.
    Why it matters: commercial plans deny high-cost drugs given without an approved
    authorization, and the denial usually cannot be appealed after the fact.
    Example: a commercial line for J0897 (Prolia) when the config lists J0897 under
    `[payer.commercial] require_prior_auth`, with no authorization number.
    Fix: obtain and report the authorization number before billing.
    """
    required = prior_auth_required(lines, ctx)
    return Flags(
        mask=required & lines["prior_auth_number"].isna(),
        applicable=required,
        expected="prior_auth_number",
        message=lambda r: join_text(
            r["payer_type"],
            " requires prior authorization for ",
            r["hcpcs_code"],
            "; no authorization number on the line",
        ),
    )


NS_PER_DAY = 86_400_000_000_000


def day_number(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as float (NaN for NaT), by integer floor division of the
    nanoseconds: exact at any representable date and never overflows (a difference of two
    dates in nanoseconds does overflow beyond 292 years, and so does numpy's ns -> day cast at
    the far end of the range)."""
    ns = dates.to_numpy(dtype="datetime64[ns]")
    out = (ns.astype(np.int64) // NS_PER_DAY).astype(np.float64)
    out[np.isnat(ns)] = np.nan
    return out


def date_key(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """A date as the number YYYYMMDD: compares like the date, from its calendar parts."""
    return year.astype("float64") * 10000 + month.astype("float64") * 100 + day.astype("float64")


def per_date(dates: pd.Series, fn) -> pd.Series:
    """`fn` of a datetime Series, evaluated once per distinct date (a batch has few)."""
    codes, uniques = pd.factorize(dates, use_na_sentinel=True)
    values = fn(pd.Series(uniques)).to_numpy(dtype="float64")
    out = np.append(values, np.nan)[np.where(codes < 0, len(values), codes)]
    return pd.Series(out, index=dates.index)


_DAY_RANGE = 1 << 14  # days (45 years): the longest range `per_day` evaluates day by day


def per_day(dates: pd.Series, days: np.ndarray, fn) -> np.ndarray:
    """`per_date` of `dates` (their `day_number`s: `days`) for an `fn` that reads the calendar
    day only: evaluated on each day of the range the dates span when it is short (a batch's
    dates span a few years), and taken by day number (no hashing); else once per date."""
    known = ~np.isnan(days)
    out = np.full(len(days), np.nan)
    if not known.any():
        return out
    day = days[known].astype(np.int64)
    low, high = int(day.min()), int(day.max())
    if high - low >= _DAY_RANGE:
        return per_date(dates, fn).to_numpy()
    span = np.arange(low, high + 1).astype("datetime64[D]").astype("datetime64[ns]")
    out[known] = fn(pd.Series(span)).to_numpy(dtype="float64")[day - low]
    return out


def one_year_deadline(service: pd.Series) -> pd.Series:
    """The last timely day (as YYYYMMDD) under the Medicare rule: the same month and day of the
    next year. February 29 has no anniversary in the next year: its deadline is March 1 (the
    day after February 28, the lenient reading, so the audit never reports a claim a payer
    reading the rule either way would accept)."""
    year, month, day = service.dt.year + 1, service.dt.month, service.dt.day
    leap_day = (month == 2) & (day == 29)
    return date_key(year, month.where(~leap_day, 3), day.where(~leap_day, 1))


def key_text(key: pd.Series) -> pd.Series:
    """YYYYMMDD numbers as `YYYY-MM-DD` text (for the few flagged rows)."""
    k = key.astype("int64").to_numpy()

    def padded(part: np.ndarray, width: int) -> pa.Array:  # digits, zero-filled (k >= 0)
        return pc.utf8_lpad(pa.array(part).cast(ARROW_TEXT), width=width, padding="0")

    parts = (padded(k // 10000, 4), padded(k // 100 % 100, 2), padded(k % 100, 2))
    text = pc.binary_join_element_wise(*parts, pa.scalar("-", ARROW_TEXT))
    return pd.Series(text, index=key.index, dtype=TEXT)


@rule(
    "P002",
    "timely-filing-exceeded",
    "payer",
    "error",
    "42 CFR 424.44(a)(1) (Medicare: no later than 1 calendar year after the date of service); "
    "payer contracts (audit.toml filing_limit_days)",
)
def timely_filing_exceeded(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the claim is filed after the payer's limit. A payer (type or payer_id)
    with `filing_limit_days` in the config: submission_date - service_date is more than that
    many days. Medicare without a configured limit: submission_date is later than one calendar
    year after the date of service, the same month and day of the next year (a service of
    2024-02-01 filed 2025-02-01 is timely, 2025-02-02 is late; a service on February 29 has
    until March 1 of the next year). Other payers without a configured limit are not evaluated
    (no_filing_limit), nor are lines without a submission date (no_submission_date).
    Why it matters: claims filed late are denied and cannot be billed to the patient.
    Example: a Medicare line with service 2025-01-10 submitted 2026-02-20 (after 2026-01-10).
    Fix: file within the limit; if late for a reason the payer accepts, attach the exception.
    """
    limit = per_payer(  # decided once per distinct payer
        lines, ctx, lambda p: ctx.config.payer_setting(p, "filing_limit_days").astype("float64")
    ).astype("float64")
    service, submitted = lines["service_date"], lines["submission_date"]
    service_day, submitted_day = day_number(service), day_number(submitted)
    days = pd.Series(submitted_day - service_day, index=lines.index)
    by_year = per_payer(lines, ctx, lambda p: p["payer_type"].isin(CALENDAR_YEAR_PAYERS))
    limits = limit.to_numpy()
    has_limit = ~np.isnan(limits)
    calendar = ~has_limit & by_year.to_numpy(dtype=bool)
    deadline = pd.Series(per_day(service, service_day, one_year_deadline), index=lines.index)
    filed = per_day(submitted, submitted_day, lambda d: date_key(d.dt.year, d.dt.month, d.dt.day))
    has_rule = has_limit | calendar
    evaluated = has_rule & ~np.isnan(submitted_day)
    late = (has_limit & (days.to_numpy() > limits)) | (calendar & (filed > deadline.to_numpy()))
    mask = pd.Series(evaluated & late, index=lines.index)
    evaluated = pd.Series(evaluated, index=lines.index)

    def expected_text(r) -> pd.Series:
        by_days = fmt_num(r.pick(limit))
        return by_days.where(r.pick(limit).notna(), key_text(r.pick(deadline)))

    def message(r) -> pd.Series:
        head = "submitted " + fmt_date(r["submission_date"]) + ", "
        by_days = join_text(
            head,
            fmt_num(r.pick(days)),
            " days after service; ",
            r["payer_type"],
            " limit is ",
            fmt_num(r.pick(limit)),
            " days",
        )
        by_year = join_text(
            head,
            "more than one calendar year after service on ",
            fmt_date(r["service_date"]),
            " (Medicare deadline ",
            key_text(r.pick(deadline)),
            ")",
        )
        return by_days.where(r.pick(limit).notna(), by_year)

    return Flags(
        mask=mask,
        evaluated=evaluated,
        reason=reasons(lines.index, (~has_rule, NO_FILING_LIMIT), default=NO_SUBMISSION_DATE),
        observed=days,
        expected=expected_text,
        message=message,
    )


@rule(
    "P003",
    "cob-incomplete",
    "payer",
    "warning",
    "CMS-1500 items 11/11d and 837 loop 2320 (other payer paid amount) for secondary claims",
)
def cob_incomplete(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: payer_sequence is secondary or tertiary and other_payer_paid_usd is empty.
    Why it matters: a secondary payer pays after the primary; without the primary's payment it
    rejects the claim or pays wrongly (coordination of benefits).
    Example: a secondary Medicaid line for J9035 with no amount paid by Medicare.
    Fix: report what the primary (and secondary) payer paid, from their remittance advice.
    """
    secondary = lines["payer_sequence"].isin(["secondary", "tertiary"])
    return Flags(
        mask=secondary & lines["other_payer_paid_usd"].isna(),
        applicable=secondary,
        expected="other_payer_paid_usd",
        message=lambda r: join_text(
            r["payer_sequence"], " claim line without the amount paid by the other payer"
        ),
    )
