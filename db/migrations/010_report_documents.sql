-- The Friday report's documents and roll rates (issue 14, parts 3 and 4).
-- Each report keeps its PDFs (zh-CN and en) beside its CSV; they are rendered from the snapshot's
-- figures, so a re-snapshot renders them again.
alter table weekly_reports add column pdf_zh bytea, add column pdf_en bytea;

-- The aging of every open case at the moment a weekly report was snapshotted: roll rates compare a
-- case's bucket then with its bucket a week later. Written by the report's snapshot activity
-- (idempotent per moment and case).
create table aging_snapshots (
  as_of             timestamptz not null,
  case_key          text        not null references cases (case_key),
  team_id           text,
  bucket            text        not null,
  days_overdue      int         not null,
  outstanding_minor bigint      not null,
  primary key (as_of, case_key)
);
