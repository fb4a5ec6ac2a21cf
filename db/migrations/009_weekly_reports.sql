-- The Friday report (issue 14, part 3): one row per report workflow, with its figures as snapshotted
-- (a snapshot that cannot be approved because the figures changed is replaced by a new one, never
-- edited), its CSV, and who approved and checked it.
create table weekly_reports (
  id            bigserial   primary key,
  report_key    text        not null unique,
  week_start    timestamptz not null,
  week_end      timestamptz not null,
  time_zone     text        not null,
  status        text        not null check (status in ('awaiting-approval', 'awaiting-check', 'done')),
  snapshot_no   int         not null,
  figures       jsonb       not null,
  figures_hash  text        not null,
  csv           text        not null,
  approved_by   text,
  approved_at   timestamptz,
  checked_by    text,
  checked_at    timestamptz,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
