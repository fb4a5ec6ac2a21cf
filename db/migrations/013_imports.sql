-- Portfolio imports (issue 15, part 1): a file of missed instalments, its rows kept until each has
-- opened or joined its case (or was rejected, with why). An import is known by its content's hash:
-- the same file sent again is the same import, and resumes where it stopped.
create table imports (
  import_id      text        primary key,
  content_sha256 text        unique,
  name           text        not null,
  format         text        not null check (format in ('csv', 'ndjson')),
  created_by     text        not null,
  created_at     timestamptz not null default now(),
  -- loading: rows arriving; running: the import's workflow takes them; done: every row has an outcome.
  status         text        not null default 'loading' check (status in ('loading', 'running', 'done')),
  total_rows     int,
  finished_at    timestamptz
);

create table import_rows (
  import_id   text        not null references imports (import_id) on delete cascade,
  -- The row's line in the file (the header is line 1 of a CSV): what a spreadsheet shows.
  row_no      int         not null,
  status      text        not null check (status in ('pending', 'opened', 'joined', 'unchanged', 'rejected', 'refused')),
  account_id  text,
  due_date    date,
  -- The validated missed payment, while pending.
  body        jsonb,
  field       text,
  message     text,
  case_key    text,
  done_at     timestamptz,
  primary key (import_id, row_no)
);
create index import_rows_pending on import_rows (import_id, row_no) where status = 'pending';
create index import_rows_pending_account on import_rows (import_id, account_id) where status = 'pending';

-- Intake looks an instalment up by account and due date (an instalment of a closed case is not new).
create index instalments_account_due on instalments (account_id, due_date);
