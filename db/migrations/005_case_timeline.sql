-- The case's timeline, written by the workflow with the rest of each step's ledger rows (one
-- transaction). The workflow keeps only its last entries (the Temporal UI and the caseState query
-- show those); this table keeps them all. `seq` counts the case's timeline entries from 1 across
-- continue-as-new, so a retried write finds its rows.
create table case_timeline (
  case_key text not null,
  seq integer not null,
  at timestamptz not null,
  day integer not null,
  what text not null,
  outcome text not null,
  primary key (case_key, seq)
);

-- The date the oldest unpaid instalment became overdue (start of that local day): "days overdue"
-- is computed from it when read, so no case has to wake at midnight to keep a counter current.
alter table cases add column overdue_since timestamptz;
