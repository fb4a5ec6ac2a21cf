-- The outbox of case actions: every visit, call, letter, demand, referral, reminder, contact outcome,
-- legal event and decision a case takes, one row per idempotency key. Channel providers and the
-- dedicated tables of the activities issue read from and replace parts of it.
create table case_actions (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  kind             text        not null,
  step_id          text,
  day              int,
  payload          jsonb       not null,
  status           text        not null default 'pending',
  recorded_at      timestamptz not null default now()
);
create index case_actions_case on case_actions (case_key, id);
create index case_actions_pending on case_actions (kind, status) where status = 'pending';

create table blacklist (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  account_id       text        not null,
  case_key         text        not null references cases (case_key),
  debtor_name      text        not null,
  days_overdue     int         not null,
  listed_at        timestamptz not null default now()
);
create index blacklist_account on blacklist (account_id);
