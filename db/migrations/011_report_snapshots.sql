-- Every snapshot of a weekly report is kept (issue 14): a report whose figures changed before its
-- approval is re-snapshotted, and the earlier snapshot stays readable here, never edited. The report's
-- row in weekly_reports holds its latest snapshot.
create table weekly_report_snapshots (
  report_key    text        not null references weekly_reports (report_key),
  snapshot_no   int         not null,
  figures       jsonb       not null,
  figures_hash  text        not null,
  csv           text        not null,
  taken_at      timestamptz not null default now(),
  primary key (report_key, snapshot_no)
);
